"""Core op specs -> real torch layers, for reference counts and measurements.

Imports torch; only reference, builder and measurement paths import this module.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    BatchNorm,
    Conv,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Op,
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


class _GlobalPool(nn.Module):
    def __init__(self, mode: PoolMode, keepdim: bool) -> None:
        super().__init__()
        self.mode, self.keepdim = mode, keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        if self.mode is PoolMode.MAX:
            return x.amax(dim=dims, keepdim=self.keepdim)
        return x.mean(dim=dims, keepdim=self.keepdim)


def _conv(op: Conv) -> nn.Module:
    cls: Any
    if op.transposed:
        cls = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)[op.dims - 1]
        pad = op.symmetric_padding
        assert pad is not None
        module: nn.Module = cls(
            op.in_channels, op.out_channels, op.kernel, stride=op.stride, padding=pad,
            output_padding=op.output_padding, dilation=op.dilation, groups=op.groups,
            bias=op.bias,
        )
        return module
    cls = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[op.dims - 1]
    pad = op.symmetric_padding
    if pad is not None:
        plain: nn.Module = cls(op.in_channels, op.out_channels, op.kernel, stride=op.stride,
                               padding=pad, dilation=op.dilation, groups=op.groups, bias=op.bias)
        return plain
    # uneven padding: pad explicitly (torch's F.pad takes the last dimension first)
    flat: list[int] = []
    for lo, hi in reversed(op.padding):
        flat += [lo, hi]
    pad_cls: Any = (nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)[op.dims - 1]
    conv = cls(op.in_channels, op.out_channels, op.kernel, stride=op.stride, padding=0,
               dilation=op.dilation, groups=op.groups, bias=op.bias)
    return nn.Sequential(pad_cls(tuple(flat), 0.0), conv)


def layer_for(op: Op) -> nn.Module:
    """The torch layer that computes ``op`` (parameters initialised by torch)."""
    if isinstance(op, Conv):
        return _conv(op)
    if isinstance(op, Linear):
        return nn.Linear(op.in_features, op.out_features, bias=op.bias)
    if isinstance(op, BatchNorm):
        return nn.BatchNorm2d(op.num_features, affine=op.affine,
                              track_running_stats=op.track_running_stats)
    if isinstance(op, Activation):
        return _ACTIVATIONS[op.function]()
    if isinstance(op, Pool):
        if op.mode is PoolMode.MAX:
            cls: Any = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)[op.dims - 1]
            pool: nn.Module = cls(op.kernel, op.stride, op.padding, dilation=op.dilation,
                                  ceil_mode=op.ceil_mode)
            return pool
        cls = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)[op.dims - 1]
        avg: nn.Module = cls(op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)
        return avg
    if isinstance(op, AdaptivePool):
        dims = len(op.output_size)
        if op.mode is PoolMode.MAX:
            cls = (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)[dims - 1]
        else:
            cls = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)[dims - 1]
        adaptive: nn.Module = cls(op.output_size)
        return adaptive
    if isinstance(op, GlobalPool):
        return _GlobalPool(op.mode, op.keepdim)
    if isinstance(op, Flatten):
        return nn.Flatten(op.start_dim)
    if isinstance(op, Dropout):
        return nn.Dropout(op.p)
    raise TypeError(f"no torch layer for {type(op).__name__}")
