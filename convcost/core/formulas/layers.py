"""The formulas of the layers of a convolutional network (conv, linear, norm, pooling, joins).

MACs follow torch.utils.flop_counter and fvcore (conv: output elements x C_in/groups x kernel
volume; transposed conv: input elements x C_out/groups x kernel volume; linear: rows x in x out).
Everything else is ``other_ops``, one op per element touched, as stated below per formula.
"""

from __future__ import annotations

from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.formulas._shapes import channels_first, one
from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Pool,
    PoolMode,
    Shape,
)
from convcost.core.shapes import transposed_output, window_output
from convcost.errors import ShapeError


@shape_rule(Conv)
def conv_shape(op: Conv, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "convolution")
    channels_first(x, op.dims + 2, op.in_channels, "convolution")
    spatial = x[2:]
    if op.transposed:
        out_spatial = tuple(
            transposed_output(n, k, s, lo, d, o)
            for n, k, s, (lo, _), d, o in zip(
                spatial, op.kernel, op.stride, op.padding, op.dilation, op.output_padding,
                strict=True,
            )
        )
    else:
        out_spatial = tuple(
            window_output(n, k, s, lo, hi, d)
            for n, k, s, (lo, hi), d in zip(
                spatial, op.kernel, op.stride, op.padding, op.dilation, strict=True
            )
        )
    return (x[0], op.out_channels, *out_spatial)


@formula(Conv)
def conv(op: Conv, inputs: tuple[Shape, ...]) -> Cost:
    out = conv_shape(op, inputs)
    x = inputs[0]
    if op.transposed:
        # every input element is scattered through C_out/groups x kernel weights
        macs = x[0] * op.in_channels * numel(x[2:]) * (op.out_channels // op.groups)
    else:
        # every output element gathers C_in/groups x kernel inputs
        macs = numel(out) * (op.in_channels // op.groups)
    return Cost(
        output_shape=out,
        macs=macs * op.kernel_volume,
        weights=op.out_channels * (op.in_channels // op.groups) * op.kernel_volume,
        bias=op.out_channels if op.bias else 0,
        other_ops=numel(out) if op.bias else 0,  # one bias add per output element
    )


@shape_rule(Linear)
def linear_shape(op: Linear, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "linear")
    if len(x) < 2 or x[-1] != op.in_features:
        raise ShapeError(f"linear expects {op.in_features} input features, got shape {list(x)}")
    return (*x[:-1], op.out_features)


@formula(Linear)
def linear(op: Linear, inputs: tuple[Shape, ...]) -> Cost:
    out = linear_shape(op, inputs)
    return Cost(
        output_shape=out,
        macs=numel(out[:-1]) * op.in_features * op.out_features,
        weights=op.in_features * op.out_features,
        bias=op.out_features if op.bias else 0,
        other_ops=numel(out) if op.bias else 0,
    )


@shape_rule(BatchNorm)
def batch_norm_shape(op: BatchNorm, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "batch-norm")
    if len(x) < 2 or x[1] != op.num_features:
        raise ShapeError(f"batch-norm expects {op.num_features} channels, got shape {list(x)}")
    return x


@formula(BatchNorm)
def batch_norm(op: BatchNorm, inputs: tuple[Shape, ...]) -> Cost:
    x = batch_norm_shape(op, inputs)
    return Cost(
        output_shape=x,
        affine=2 * op.num_features if op.affine else 0,
        # running mean and variance, and torch's num_batches_tracked counter
        buffers=2 * op.num_features + 1 if op.track_running_stats else 0,
        other_ops=2 * numel(x),  # inference: one scale and one shift per element
    )


@shape_rule(Activation)
def activation_shape(op: Activation, inputs: tuple[Shape, ...]) -> Shape:
    return one(inputs, "activation")


@formula(Activation)
def activation(op: Activation, inputs: tuple[Shape, ...]) -> Cost:
    x = activation_shape(op, inputs)
    ops = 0 if op.function == ActivationFn.IDENTITY else numel(x)
    return Cost(output_shape=x, other_ops=ops)  # one op per element


@shape_rule(Pool)
def pool_shape(op: Pool, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "pooling")
    if len(x) != op.dims + 2:
        raise ShapeError(f"{op.dims}-D pooling expects a {op.dims + 2}-D input, got {list(x)}")
    if op.mode == PoolMode.AVG and op.dims == 3 and any(
        n < k for n, k in zip(x[2:], op.kernel, strict=True)
    ):  # torch's avg_pool3d checks the unpadded input against the kernel
        raise ShapeError(
            f"3-D average pooling: input {list(x[2:])} is smaller than the kernel {list(op.kernel)}"
        )
    out_spatial = tuple(
        window_output(n, k, s, p, p, d, ceil_mode=op.ceil_mode)
        for n, k, s, p, d in zip(
            x[2:], op.kernel, op.stride, op.padding, op.dilation, strict=True
        )
    )
    return (x[0], x[1], *out_spatial)


@formula(Pool)
def pool(op: Pool, inputs: tuple[Shape, ...]) -> Cost:
    out = pool_shape(op, inputs)
    return Cost(output_shape=out, other_ops=numel(out) * numel(op.kernel))  # per window element


@shape_rule(AdaptivePool)
def adaptive_pool_shape(op: AdaptivePool, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "adaptive pooling")
    if len(x) != len(op.output_size) + 2:
        raise ShapeError(f"adaptive pooling to {list(op.output_size)} got input {list(x)}")
    return (x[0], x[1], *op.output_size)


@formula(AdaptivePool)
def adaptive_pool(op: AdaptivePool, inputs: tuple[Shape, ...]) -> Cost:
    out = adaptive_pool_shape(op, inputs)
    return Cost(output_shape=out, other_ops=numel(inputs[0]))  # every input element once


@shape_rule(GlobalPool)
def global_pool_shape(op: GlobalPool, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "global pooling")
    if len(x) < 3:
        raise ShapeError(f"global pooling needs spatial dimensions, got shape {list(x)}")
    return (x[0], x[1], *(1,) * (len(x) - 2)) if op.keepdim else (x[0], x[1])


@formula(GlobalPool)
def global_pool(op: GlobalPool, inputs: tuple[Shape, ...]) -> Cost:
    out = global_pool_shape(op, inputs)
    return Cost(output_shape=out, other_ops=numel(inputs[0]))  # every input element once


@shape_rule(Add)
def add_shape(op: Add, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) < 2:
        raise ShapeError(f"add joins two or more inputs, got {len(inputs)}")
    first = inputs[0]
    for other in inputs[1:]:
        if other != first:
            shapes = " and ".join(str(list(s)) for s in inputs)
            raise ShapeError(f"cannot add tensors of shapes {shapes}")
    return first


@formula(Add)
def add(op: Add, inputs: tuple[Shape, ...]) -> Cost:
    out = add_shape(op, inputs)
    return Cost(output_shape=out, other_ops=numel(out) * (len(inputs) - 1))


@shape_rule(Concat)
def concat_shape(op: Concat, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) < 2:
        raise ShapeError(f"concat joins two or more inputs, got {len(inputs)}")
    first = inputs[0]
    for other in inputs[1:]:
        if len(other) != len(first) or other[0] != first[0] or other[2:] != first[2:]:
            shapes = " and ".join(str(list(s)) for s in inputs)
            raise ShapeError(f"cannot concatenate channels of shapes {shapes}")
    return (first[0], sum(s[1] for s in inputs), *first[2:])


@formula(Concat)
def concat(op: Concat, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(output_shape=concat_shape(op, inputs))


@shape_rule(Flatten)
def flatten_shape(op: Flatten, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "flatten")
    return (*x[: op.start_dim], numel(x[op.start_dim :]))


@formula(Flatten, moves_data=False)
def flatten(op: Flatten, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(output_shape=flatten_shape(op, inputs))


@shape_rule(Dropout)
def dropout_shape(op: Dropout, inputs: tuple[Shape, ...]) -> Shape:
    return one(inputs, "dropout")


@formula(Dropout, moves_data=False)
def dropout(op: Dropout, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(output_shape=dropout_shape(op, inputs))  # identity at inference
