"""Core op specs -> real torch layers: the one mapping, used by the YAML builder, reference
counts and measurements.

Imports torch; only those paths import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

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
    Elementwise,
    Flatten,
    GlobalPool,
    Linear,
    Op,
    Pool,
    PoolMode,
    Recurrent,
    Upsample,
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


class AddJoin(nn.Module):
    """Element-wise sum of its inputs (a residual join)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class ConcatJoin(nn.Module):
    """Concatenation of its inputs along channels."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class MulJoin(nn.Module):
    """Element-wise product of its inputs, broadcast (a squeeze-excite gate)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class _GlobalPool(nn.Module):
    """Global pooling that drops the spatial dimensions (keepdim=False)."""

    def __init__(self, mode: PoolMode) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        if self.mode is PoolMode.MAX:
            return x.amax(dim=dims)
        return x.mean(dim=dims)


def _flat_pads(pads: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Per-dimension (before, after) pairs -> F.pad order (last dimension first)."""
    out: list[int] = []
    for lo, hi in reversed(pads):
        out += [lo, hi]
    return tuple(out)


# Asymmetric padding ('same' with an even kernel) as one leaf module, so that module names stay
# equal to record names (a Sequential(pad, conv) would add a level).
class PaddedConv1d(nn.Conv1d):
    pads: tuple[int, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(F.pad(x, self.pads), self.weight, self.bias)
        return out


class PaddedConv2d(nn.Conv2d):
    pads: tuple[int, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(F.pad(x, self.pads), self.weight, self.bias)
        return out


class PaddedConv3d(nn.Conv3d):
    pads: tuple[int, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(F.pad(x, self.pads), self.weight, self.bias)
        return out


_PADDED = {1: PaddedConv1d, 2: PaddedConv2d, 3: PaddedConv3d}


def _conv(op: Conv) -> nn.Module:
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
    padded.pads = _flat_pads(op.padding)
    return padded  # type: ignore[no-any-return]


def layer_for(op: Op, rank: int | None = None) -> nn.Module:
    """The torch layer that computes ``op`` (parameters initialised by torch).

    ``rank`` is the rank of the unbatched input, where the op alone does not tell it
    (batch-norm, global pooling); without it an image input (C, H, W) is assumed.
    """
    spatial = (rank or 3) - 1
    if isinstance(op, Conv):
        return _conv(op)
    if isinstance(op, Linear):
        return nn.Linear(op.in_features, op.out_features, bias=op.bias)
    if isinstance(op, BatchNorm):
        return _BATCH_NORM[rank or 3](op.num_features, affine=op.affine,
                                      track_running_stats=op.track_running_stats)
    if isinstance(op, Activation):
        if op.function is ActivationFn.SOFTMAX:
            return nn.Softmax(dim=1)
        return _ACTIVATIONS[op.function]()
    if isinstance(op, Pool):
        if op.mode is PoolMode.MAX:
            pool: nn.Module = _MAX[op.dims](op.kernel, op.stride, op.padding,
                                            dilation=op.dilation, ceil_mode=op.ceil_mode)
            return pool
        avg: nn.Module = _AVG[op.dims](op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)
        return avg
    if isinstance(op, GlobalPool) and not op.keepdim:
        return _GlobalPool(op.mode)
    if isinstance(op, GlobalPool | AdaptivePool):
        size = op.output_size if isinstance(op, AdaptivePool) else (1,) * spatial
        table = _ADAPTIVE_MAX if op.mode is PoolMode.MAX else _ADAPTIVE_AVG
        adaptive: nn.Module = table[len(size)](size)
        return adaptive
    if isinstance(op, Flatten):
        return nn.Flatten(op.start_dim)
    if isinstance(op, Dropout):
        return nn.Dropout(op.p)
    if isinstance(op, Add):
        return AddJoin()
    if isinstance(op, Concat):
        return ConcatJoin()
    if isinstance(op, Elementwise) and op.function == "mul":
        return MulJoin()
    if isinstance(op, ChannelShuffle):
        return nn.ChannelShuffle(op.groups)
    if isinstance(op, Upsample | Recurrent):
        return _resampling_or_recurrent(op)
    raise TypeError(f"no torch layer for {type(op).__name__}")


class _FirstOutput(nn.Module):
    """A recurrent layer that returns its output sequence (or hidden state) only."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        first: torch.Tensor = out[0] if isinstance(out, tuple) else out
        return first


def _resampling_or_recurrent(op: Upsample | Recurrent) -> nn.Module:
    if isinstance(op, Upsample):
        if op.antialias:
            raise TypeError("nn.Upsample has no antialiased mode")
        scale = (op.scale[0] if len(op.scale) == 1 else op.scale) if op.scale else None
        return nn.Upsample(size=op.size or None, scale_factor=None if op.size else scale,
                           mode=op.mode, align_corners=op.align_corners)
    rnn: nn.Module
    if op.sequence:
        if op.cell == "lstm":
            rnn = nn.LSTM(op.input_size, op.hidden_size, bias=op.bias, proj_size=op.proj_size)
        elif op.cell == "gru":
            rnn = nn.GRU(op.input_size, op.hidden_size, bias=op.bias)
        else:
            rnn = nn.RNN(op.input_size, op.hidden_size, bias=op.bias,
                         nonlinearity=op.cell.removeprefix("rnn_"))
    elif op.cell == "lstm":
        rnn = nn.LSTMCell(op.input_size, op.hidden_size, bias=op.bias)
    elif op.cell == "gru":
        rnn = nn.GRUCell(op.input_size, op.hidden_size, bias=op.bias)
    else:
        rnn = nn.RNNCell(op.input_size, op.hidden_size, bias=op.bias,
                         nonlinearity=op.cell.removeprefix("rnn_"))
    return _FirstOutput(rnn)
