"""The torch modules of the core ops (registered in :mod:`convcost.build.registry`, with the op
modules' own), used by the YAML builder, reference counts and measurements.

Imports torch; only those paths import this module.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from convcost.build.containers import (
    AddJoin,
    ConcatJoin,
    GlobalPoolFlat,
    MulJoin,
    PaddedConv1d,
    PaddedConv2d,
    PaddedConv3d,
    flat_pads,
)
from convcost.build.registry import builds
from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Dropout,
    Elementwise,
    Flatten,
    GlobalPool,
    Linear,
    Pool,
    PoolMode,
)

_ACTIVATIONS: dict[ActivationFn, type[nn.Module]] = {
    ActivationFn.RELU: nn.ReLU,
    ActivationFn.RELU6: nn.ReLU6,
    ActivationFn.LEAKY_RELU: nn.LeakyReLU,
    ActivationFn.SIGMOID: nn.Sigmoid,
    ActivationFn.TANH: nn.Tanh,
    ActivationFn.GELU: nn.GELU,
    ActivationFn.SILU: nn.SiLU,
    ActivationFn.HARDSWISH: nn.Hardswish,
    ActivationFn.HARDSIGMOID: nn.Hardsigmoid,
    ActivationFn.IDENTITY: nn.Identity,
}
_CONV: dict[int, Any] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T: dict[int, Any] = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_MAX = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVG = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_ADAPTIVE_MAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}
_ADAPTIVE_AVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
# by the rank of the unbatched input: (C,) and (C, L) -> 1d, (C, H, W) -> 2d, (C, D, H, W) -> 3d
_BATCH_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}
_PADDED = {1: PaddedConv1d, 2: PaddedConv2d, 3: PaddedConv3d}


@builds(Conv)
def _conv(op: Conv, rank: int) -> nn.Module:
    common: dict[str, Any] = {"in_channels": op.in_channels, "out_channels": op.out_channels,
              "kernel_size": op.kernel, "stride": op.stride, "dilation": op.dilation,
              "groups": op.groups, "bias": op.bias}
    pad = op.symmetric_padding
    if op.transposed:
        assert pad is not None  # the core refuses uneven padding for transposed convs
        tconv: nn.Module = _CONV_T[op.dims](padding=pad, output_padding=op.output_padding,
                                            **common)
        return tconv
    if pad is not None:
        conv: nn.Module = _CONV[op.dims](padding=pad, **common)
        return conv
    padded: Any = _PADDED[op.dims](padding=0, **common)
    padded.pads = flat_pads(op.padding)
    return padded  # type: ignore[no-any-return]


@builds(Linear)
def _linear(op: Linear, rank: int) -> nn.Module:
    return nn.Linear(op.in_features, op.out_features, bias=op.bias)


@builds(BatchNorm)
def _batch_norm(op: BatchNorm, rank: int) -> nn.Module:
    return _BATCH_NORM[rank](op.num_features, affine=op.affine,
                             track_running_stats=op.track_running_stats)


@builds(Activation)
def _activation(op: Activation, rank: int) -> nn.Module:
    if op.function is ActivationFn.SOFTMAX:
        return nn.Softmax(dim=1)
    return _ACTIVATIONS[op.function]()


@builds(Pool)
def _pool(op: Pool, rank: int) -> nn.Module:
    if op.mode is PoolMode.MAX:
        pool: nn.Module = _MAX[op.dims](op.kernel, op.stride, op.padding,
                                        dilation=op.dilation, ceil_mode=op.ceil_mode)
        return pool
    avg: nn.Module = _AVG[op.dims](op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)
    return avg


@builds(GlobalPool)
def _global_pool(op: GlobalPool, rank: int) -> nn.Module:
    if not op.keepdim:
        return GlobalPoolFlat(op.mode)
    return _adaptive(op.mode, (1,) * (rank - 1))


@builds(AdaptivePool)
def _adaptive_pool(op: AdaptivePool, rank: int) -> nn.Module:
    return _adaptive(op.mode, op.output_size)


def _adaptive(mode: PoolMode, size: tuple[int, ...]) -> nn.Module:
    table = _ADAPTIVE_MAX if mode is PoolMode.MAX else _ADAPTIVE_AVG
    adaptive: nn.Module = table[len(size)](size)
    return adaptive


@builds(Flatten)
def _flatten(op: Flatten, rank: int) -> nn.Module:
    return nn.Flatten(op.start_dim)


@builds(Dropout)
def _dropout(op: Dropout, rank: int) -> nn.Module:
    return nn.Dropout(op.p)


@builds(Add)
def _add(op: Add, rank: int) -> nn.Module:
    return AddJoin()


@builds(Concat)
def _concat(op: Concat, rank: int) -> nn.Module:
    return ConcatJoin()


@builds(Elementwise)
def _elementwise(op: Elementwise, rank: int) -> nn.Module:
    if op.function != "mul":
        raise TypeError(f"no torch layer for element-wise {op.function}")
    return MulJoin()
