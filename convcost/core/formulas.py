"""Built-in formulas, one per op type. Each is a pure function of the op and input shapes.

MACs follow torch.utils.flop_counter and fvcore (conv: output elements x C_in/groups x kernel
volume; transposed conv: input elements x C_out/groups x kernel volume; linear: rows x in x out).
Everything else is ``other_ops``, one op per element touched, as stated below per formula.
"""

from __future__ import annotations

from convcost.core.cost import Cost, numel
from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    ChannelShuffle,
    Concat,
    Conv,
    Dropout,
    Flatten,
    FreeParameter,
    GlobalPool,
    Linear,
    Pool,
    Shape,
)
from convcost.core.registry import formula
from convcost.core.shapes import transposed_output, window_output
from convcost.errors import ShapeError


def _one(inputs: tuple[Shape, ...], what: str) -> Shape:
    if len(inputs) != 1:
        raise ShapeError(f"{what} takes one input, got {len(inputs)}")
    return inputs[0]


def _channels_first(shape: Shape, rank: int, channels: int, what: str) -> None:
    if len(shape) != rank:
        raise ShapeError(
            f"{what} expects a {rank}-D input (batch, channels, {rank - 2} spatial), "
            f"got shape {list(shape)}"
        )
    if shape[1] != channels:
        raise ShapeError(f"{what} expects {channels} input channels, got {shape[1]}")


@formula(Conv)
def conv(op: Conv, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "convolution")
    _channels_first(x, op.dims + 2, op.in_channels, "convolution")
    batch, spatial = x[0], x[2:]
    if op.transposed:
        out_spatial = tuple(
            transposed_output(n, k, s, lo, d, o)
            for n, k, s, (lo, _), d, o in zip(
                spatial, op.kernel, op.stride, op.padding, op.dilation, op.output_padding,
                strict=True,
            )
        )
        # every input element is scattered through C_out/groups x kernel weights
        macs = batch * op.in_channels * numel(spatial) * (op.out_channels // op.groups)
    else:
        out_spatial = tuple(
            window_output(n, k, s, lo, hi, d)
            for n, k, s, (lo, hi), d in zip(
                spatial, op.kernel, op.stride, op.padding, op.dilation, strict=True
            )
        )
        # every output element gathers C_in/groups x kernel inputs
        macs = batch * op.out_channels * numel(out_spatial) * (op.in_channels // op.groups)
    macs *= op.kernel_volume
    out = (batch, op.out_channels, *out_spatial)
    return Cost(
        output_shape=out,
        macs=macs,
        weights=op.out_channels * (op.in_channels // op.groups) * op.kernel_volume,
        bias=op.out_channels if op.bias else 0,
        other_ops=numel(out) if op.bias else 0,  # one bias add per output element
    )


@formula(Linear)
def linear(op: Linear, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "linear")
    if len(x) < 2 or x[-1] != op.in_features:
        raise ShapeError(f"linear expects {op.in_features} input features, got shape {list(x)}")
    out = (*x[:-1], op.out_features)
    return Cost(
        output_shape=out,
        macs=numel(x[:-1]) * op.in_features * op.out_features,
        weights=op.in_features * op.out_features,
        bias=op.out_features if op.bias else 0,
        other_ops=numel(out) if op.bias else 0,
    )


@formula(BatchNorm)
def batch_norm(op: BatchNorm, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "batch-norm")
    if len(x) < 2 or x[1] != op.num_features:
        raise ShapeError(f"batch-norm expects {op.num_features} channels, got shape {list(x)}")
    return Cost(
        output_shape=x,
        affine=2 * op.num_features if op.affine else 0,
        # running mean and variance, and torch's num_batches_tracked counter
        buffers=2 * op.num_features + 1 if op.track_running_stats else 0,
        other_ops=2 * numel(x),  # inference: one scale and one shift per element
    )


@formula(Activation)
def activation(op: Activation, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "activation")
    ops = 0 if op.function == ActivationFn.IDENTITY else numel(x)
    return Cost(output_shape=x, other_ops=ops)  # one op per element


@formula(Pool)
def pool(op: Pool, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "pooling")
    if len(x) != op.dims + 2:
        raise ShapeError(f"{op.dims}-D pooling expects a {op.dims + 2}-D input, got {list(x)}")
    out_spatial = tuple(
        window_output(n, k, s, p, p, d, ceil_mode=op.ceil_mode)
        for n, k, s, p, d in zip(
            x[2:], op.kernel, op.stride, op.padding, op.dilation, strict=True
        )
    )
    out = (x[0], x[1], *out_spatial)
    kvol = numel(op.kernel)
    return Cost(output_shape=out, other_ops=numel(out) * kvol)  # one op per window element


@formula(AdaptivePool)
def adaptive_pool(op: AdaptivePool, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "adaptive pooling")
    if len(x) != len(op.output_size) + 2:
        raise ShapeError(f"adaptive pooling to {list(op.output_size)} got input {list(x)}")
    out = (x[0], x[1], *op.output_size)
    return Cost(output_shape=out, other_ops=numel(x))  # every input element once


@formula(GlobalPool)
def global_pool(op: GlobalPool, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "global pooling")
    if len(x) < 3:
        raise ShapeError(f"global pooling needs spatial dimensions, got shape {list(x)}")
    out = (x[0], x[1], *(1,) * (len(x) - 2)) if op.keepdim else (x[0], x[1])
    return Cost(output_shape=out, other_ops=numel(x))  # every input element once


@formula(Add)
def add(op: Add, inputs: tuple[Shape, ...]) -> Cost:
    if len(inputs) < 2:
        raise ShapeError(f"add joins two or more inputs, got {len(inputs)}")
    first = inputs[0]
    for other in inputs[1:]:
        if other != first:
            shapes = " and ".join(str(list(s)) for s in inputs)
            raise ShapeError(f"cannot add tensors of shapes {shapes}")
    return Cost(output_shape=first, other_ops=numel(first) * (len(inputs) - 1))


@formula(Concat)
def concat(op: Concat, inputs: tuple[Shape, ...]) -> Cost:
    if len(inputs) < 2:
        raise ShapeError(f"concat joins two or more inputs, got {len(inputs)}")
    first = inputs[0]
    for other in inputs[1:]:
        if len(other) != len(first) or other[0] != first[0] or other[2:] != first[2:]:
            shapes = " and ".join(str(list(s)) for s in inputs)
            raise ShapeError(f"cannot concatenate channels of shapes {shapes}")
    out = (first[0], sum(s[1] for s in inputs), *first[2:])
    return Cost(output_shape=out)


@formula(ChannelShuffle)
def channel_shuffle(op: ChannelShuffle, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "channel shuffle")
    if len(x) < 2 or x[1] % op.groups:
        raise ShapeError(f"channel shuffle in {op.groups} groups needs channels divisible by "
                         f"{op.groups}, got shape {list(x)}")
    return Cost(output_shape=x)  # a copy: memory traffic, no arithmetic


@formula(Flatten, moves_data=False)
def flatten(op: Flatten, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, "flatten")
    return Cost(output_shape=(*x[: op.start_dim], numel(x[op.start_dim :])))


@formula(Dropout, moves_data=False)
def dropout(op: Dropout, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(output_shape=_one(inputs, "dropout"))  # identity at inference


# ---------------------------------------------------------------- ops met in torch models

from convcost.core.ops import (  # noqa: E402
    Attention,
    Elementwise,
    Embedding,
    Matmul,
    Norm,
    NormFn,
    Reduce,
)


def _broadcast(shapes: tuple[Shape, ...], what: str) -> Shape:
    """torch's broadcasting rule: align on the right, sizes equal or 1."""
    rank = max(len(s) for s in shapes)
    out: list[int] = []
    for i in range(rank):
        sizes = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            listed = " and ".join(str(list(s)) for s in shapes)
            raise ShapeError(f"{what}: cannot broadcast shapes {listed}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@formula(Matmul)
def matmul(op: Matmul, inputs: tuple[Shape, ...]) -> Cost:
    if len(inputs) not in (2, 3):
        raise ShapeError(f"matmul takes two inputs (and an optional addend), got {len(inputs)}")
    a, b = inputs[0], inputs[1]
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(f"matmul needs matrices, got shapes {list(a)} and {list(b)}")
    (m, k), (k2, n) = a[-2:], b[-2:]
    if k != k2:
        raise ShapeError(f"matmul: inner sizes differ, shapes {list(a)} and {list(b)}")
    batch = _broadcast((a[:-2], b[:-2]), "matmul batch") if a[:-2] or b[:-2] else ()
    out = (*batch, m, n)
    added = numel(out) if len(inputs) == 3 else 0  # one add per output element
    return Cost(output_shape=out, macs=numel(batch) * m * k * n, other_ops=added)


@formula(Attention)
def attention(op: Attention, inputs: tuple[Shape, ...]) -> Cost:
    """MACs of q·kᵀ (L·S·E per head) and of scores·v (L·S·Ev per head), as
    torch.utils.flop_counter's sdpa_flop_count / 2; other ops: one softmax op per score."""
    if len(inputs) != 3:
        raise ShapeError(f"attention takes q, k and v, got {len(inputs)} inputs")
    q, k, v = inputs
    if not (len(q) == len(k) == len(v) >= 3):
        raise ShapeError(
            f"attention needs q, k, v of one rank >= 3, got {list(q)}, {list(k)}, {list(v)}"
        )
    (length, e), (s, ek), (sv, ev) = q[-2:], k[-2:], v[-2:]
    if e != ek or s != sv or k[:-2] != v[:-2]:
        raise ShapeError(f"attention: incompatible q {list(q)}, k {list(k)}, v {list(v)}")
    if q[:-2] != k[:-2]:
        heads, kv_heads = q[-3], k[-3]
        if q[:-3] != k[:-3] or heads % kv_heads:
            raise ShapeError(f"attention: {heads} query heads do not share {kv_heads} kv heads")
    batch = numel(q[:-2])
    scores = batch * length * s
    return Cost(
        output_shape=(*q[:-2], length, ev),
        macs=scores * e + scores * ev,
        other_ops=scores,
    )


@formula(Norm)
def norm(op: Norm, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops per element: statistics 1 + normalise 1 + scale 1 (if weight) + shift 1
    (if bias)."""
    x = _one(inputs, str(op.function))
    if op.function in (NormFn.LAYER, NormFn.RMS):
        if tuple(x[len(x) - len(op.shape) :]) != op.shape or len(x) < len(op.shape):
            raise ShapeError(f"{op.function} over {list(op.shape)} got input shape {list(x)}")
    elif len(x) < 2 or x[1] != op.shape[0] or x[1] % op.groups:
        raise ShapeError(f"{op.function} of {op.shape[0]} channels got input shape {list(x)}")
    per = numel(op.shape)
    return Cost(
        output_shape=x,
        affine=per * (int(op.weight) + int(op.bias)),
        other_ops=numel(x) * (2 + int(op.weight) + int(op.bias)),
    )


@formula(Elementwise)
def elementwise(op: Elementwise, inputs: tuple[Shape, ...]) -> Cost:
    if not inputs:
        raise ShapeError(f"{op.function} needs at least one input")
    out = _broadcast(inputs, op.function)
    return Cost(output_shape=out, other_ops=numel(out) * op.ops_per_element)


@formula(Reduce)
def reduce(op: Reduce, inputs: tuple[Shape, ...]) -> Cost:
    x = _one(inputs, op.function)
    rank = len(x)
    dims = {d % rank for d in op.dims} if op.dims and rank else set(range(rank))
    if any(not -max(rank, 1) <= d < max(rank, 1) for d in op.dims):
        raise ShapeError(f"{op.function} over dims {list(op.dims)} of shape {list(x)}")
    if op.keepdim:
        out = tuple(1 if i in dims else n for i, n in enumerate(x))
    else:
        out = tuple(n for i, n in enumerate(x) if i not in dims)
    return Cost(output_shape=out, other_ops=numel(x))  # every input element once


@formula(Embedding)
def embedding(op: Embedding, inputs: tuple[Shape, ...]) -> Cost:
    ids = _one(inputs, "embedding")
    return Cost(
        output_shape=(*ids, op.embedding_dim),
        weights=op.num_embeddings * op.embedding_dim,
    )


@formula(FreeParameter, moves_data=False)  # read by the op that uses it, counted there
def free_parameter(op: FreeParameter, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(output_shape=(op.numel,), free=op.numel)


# ---------------------------------------------------------------- resampling, recurrence and
# the other ops met in real models

import math  # noqa: E402

from convcost.core.ops import (  # noqa: E402
    Einsum,
    EmbeddingBag,
    GridSample,
    Nms,
    Recurrent,
    RoiAlign,
    Upsample,
)

_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2,
         "bicubic": 4}
"""Input samples an interpolation reads per output element and spatial dimension."""


def _taps(mode: str, n_in: int, n_out: int, antialias: bool) -> int:
    base = _TAPS[mode]
    if not antialias or n_out >= n_in or base == 1:
        return base
    # an antialiased filter is widened by the downsampling factor (torch's _upsample_*_aa)
    support = base / 2 * n_in / n_out
    return 2 * math.ceil(support) + 1


@formula(Upsample)
def upsample(op: Upsample, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output element, one per input sample the interpolation reads (nearest 1,
    linear 2, bilinear 4, bicubic 16, trilinear 8), fvcore's count for nearest and bilinear
    extended to every mode."""
    x = _one(inputs, "upsampling")
    spatial = x[2:]
    if len(x) < 3 or (op.dims is not None and len(spatial) != op.dims):
        want = f"{op.dims + 2}-D" if op.dims is not None else "an (N, C, *spatial)"
        raise ShapeError(f"{op.mode} upsampling expects {want} input, got shape {list(x)}")
    if op.size:
        if len(op.size) != len(spatial):
            raise ShapeError(f"upsampling size {list(op.size)} does not match input {list(x)}")
        out_spatial = op.size
    else:
        scale = op.scale * len(spatial) if len(op.scale) == 1 else op.scale
        if len(scale) != len(spatial):
            raise ShapeError(f"upsampling scale {list(op.scale)} does not match input {list(x)}")
        out_spatial = tuple(math.floor(n * s) for n, s in zip(spatial, scale, strict=True))
        if any(n < 1 for n in out_spatial):
            raise ShapeError(f"upsampling {list(x)} by {list(op.scale)} leaves no output")
    taps = 1
    for n_in, n_out in zip(spatial, out_spatial, strict=True):
        taps *= _taps(op.mode, n_in, n_out, op.antialias)
    out = (*x[:2], *out_spatial)
    return Cost(output_shape=out, other_ops=numel(out) * taps)


_GATE_OPS = {"lstm": 13, "gru": 10, "rnn_tanh": 2, "rnn_relu": 2}
"""Other ops per hidden unit and step, besides the bias: LSTM 4 sums of the two products, 3
sigmoids, 2 tanh, c = f*c + i*g (3), h = o*tanh(c) (1); GRU 2 sums, 2 sigmoids,
n = tanh(x_n + r*h_n) (3), h = n + z*(h - n) (3); RNN 1 sum and the activation."""


@formula(Recurrent)
def recurrent(op: Recurrent, inputs: tuple[Shape, ...]) -> Cost:
    """MACs per step and batch row: gates x hidden x (input + state), plus hidden x proj for a
    projected LSTM (4·H·(I+H) LSTM, 3·H·(I+H) GRU, H·(I+H) RNN), as the decomposed path runs
    it; other ops: gate work (see ``_GATE_OPS``) and both biases (2 x gates x hidden)."""
    x = _one(inputs, f"{op.cell} layer")
    rank = (2, 3) if op.sequence else (1, 2)
    if len(x) not in rank or x[-1] != op.input_size:
        raise ShapeError(
            f"{op.cell} expects input of rank {rank[0]} or {rank[1]} with "
            f"{op.input_size} features, got shape {list(x)}"
        )
    rows = numel(x[:-1])  # steps x batch
    g, h, state = op.gates, op.hidden_size, op.state_size
    weights = g * h * (op.input_size + state) + (state * h if op.proj_size else 0)
    bias = 2 * g * h if op.bias else 0
    return Cost(
        output_shape=(*x[:-1], state),
        macs=rows * weights,
        weights=weights,
        bias=bias,
        other_ops=rows * (h * _GATE_OPS[op.cell] + bias),
    )


@formula(GridSample)
def grid_sample(op: GridSample, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output element, one per input sample read (bilinear 4, trilinear 8,
    bicubic 16, nearest 1)."""
    if len(inputs) != 2:
        raise ShapeError(f"grid_sample takes an input and a grid, got {len(inputs)} shapes")
    x, grid = inputs
    dims = len(x) - 2
    if dims not in (2, 3) or len(grid) != dims + 2 or grid[-1] != dims or grid[0] != x[0]:
        raise ShapeError(f"grid_sample: input {list(x)} and grid {list(grid)} do not match")
    out = (x[0], x[1], *grid[1:-1])
    taps = _TAPS[op.mode] ** dims
    return Cost(output_shape=out, other_ops=numel(out) * taps)


@formula(RoiAlign)
def roi_align(op: RoiAlign, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output bin, sampling_ratio² bilinear samples of 4 reads each, and one
    op per sample to average them."""
    if len(inputs) != 2:
        raise ShapeError(f"roi_align takes features and boxes, got {len(inputs)} shapes")
    x, boxes = inputs
    if len(x) != 4 or len(boxes) != 2 or boxes[1] != 5:
        raise ShapeError(f"roi_align: features {list(x)} and boxes {list(boxes)}")
    out = (boxes[0], x[1], *op.output_size)
    samples = op.sampling_ratio**2
    return Cost(output_shape=out, other_ops=numel(out) * samples * 5)


def _einsum_sizes(equation: str, inputs: tuple[Shape, ...]) -> tuple[dict[str, int], str]:
    eq = equation.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(inputs):
        raise ShapeError(f"einsum {equation!r} names {len(terms)} operands, got {len(inputs)}")
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, inputs, strict=True):
        if "..." in term:
            extra = len(shape) - (len(term) - 3)
            term = term.replace("...", "".join(chr(0x391 + i) for i in range(extra)))
        if len(term) != len(shape):
            raise ShapeError(f"einsum {equation!r}: {term!r} does not fit shape {list(shape)}")
        for letter, n in zip(term, shape, strict=True):
            if sizes.get(letter, n) != n and 1 not in (n, sizes[letter]):
                raise ShapeError(f"einsum {equation!r}: index {letter!r} has two sizes")
            sizes[letter] = max(n, sizes.get(letter, 1))
    if "->" not in eq:
        counts = {c: lhs.count(c) for c in sizes}
        rhs = "".join(sorted(c for c, k in counts.items() if k == 1 and c.isalpha()))
    if "..." in rhs:
        rhs = rhs.replace("...", "".join(c for c in sizes if not c.isascii()))
    return sizes, rhs


@formula(Einsum)
def einsum(op: Einsum, inputs: tuple[Shape, ...]) -> Cost:
    if not inputs:
        raise ShapeError("einsum needs at least one operand")
    sizes, rhs = _einsum_sizes(op.equation, inputs)
    points = math.prod(sizes.values())
    out = tuple(sizes[c] for c in rhs)
    if len(inputs) == 1:
        return Cost(output_shape=out, other_ops=points)
    return Cost(output_shape=out, macs=points)


@formula(EmbeddingBag)
def embedding_bag(op: EmbeddingBag, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: one per gathered element (the sum, mean or max), one more per element with
    per-sample weights, and one division per output element for the mean."""
    if len(inputs) != 2:
        raise ShapeError(f"embedding_bag takes indices and bags, got {len(inputs)} shapes")
    ids, bags = inputs
    gathered = numel(ids) * op.embedding_dim
    out = (bags[0], op.embedding_dim)
    ops = gathered * (2 if op.per_sample_weights else 1)
    ops += numel(out) if op.mode == "mean" else 0
    return Cost(output_shape=out, weights=op.num_embeddings * op.embedding_dim,
                other_ops=ops)


@formula(Nms)
def nms(op: Nms, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: one IoU test per pair of boxes, n·(n−1)/2 (every pair tested; boxes already
    suppressed are skipped at run time, so this is the most it does)."""
    boxes = inputs[0] if inputs else ()
    if len(boxes) != 2 or boxes[1] != 4:
        raise ShapeError(f"nms takes boxes of shape (n, 4), got {list(boxes)}")
    n = boxes[0]
    return Cost(output_shape=(n,), other_ops=n * (n - 1) // 2)
