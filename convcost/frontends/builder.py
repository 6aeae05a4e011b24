"""A resolved YAML spec -> a real ``torch.nn.Module`` with the same layers.

Every record of :func:`convcost.frontends.yaml_records.records_from_spec` is one leaf module
whose ``named_modules()`` name is ``".".join(record.path)``; parameters add up to the analysis'
``params``; the forward gives the output shape the records say. torch is imported only when
:func:`build_module` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
)
from convcost.errors import InputError
from convcost.frontends.yaml_spec import GroupNode, LayerNode, ModelSpec, ParallelNode, SpecNode

if TYPE_CHECKING:
    from torch import nn

__all__ = ["build_module"]


def build_module(spec: ModelSpec) -> nn.Module:
    """The spec as an ``nn.Module`` (fresh random weights, training mode, on the CPU)."""
    from convcost.frontends.yaml_modules import SpecSequence

    return SpecSequence([(n.name, _node(n)) for n in spec.layers])


def _node(node: SpecNode) -> nn.Module:
    from convcost.frontends import yaml_modules as ym

    if isinstance(node, LayerNode):
        return _leaf(node, len(node.in_shape))
    if isinstance(node, GroupNode):
        return ym.SpecSequence([(c.name, _node(c)) for c in node.children])
    assert isinstance(node, ParallelNode)
    branches = [
        (b.name, ym.SpecSequence([(c.name, _node(c)) for c in b.children]) if b.children
         else None)
        for b in node.branches
    ]
    join = (node.join.name, _leaf(node.join, len(node.join.in_shape)))
    after = [(a.name, _leaf(a, len(a.in_shape))) for a in node.after]
    return ym.SpecParallel(branches, join, after)


_ACT = {
    ActivationFn.RELU: "ReLU",
    ActivationFn.RELU6: "ReLU6",
    ActivationFn.LEAKY_RELU: "LeakyReLU",
    ActivationFn.SIGMOID: "Sigmoid",
    ActivationFn.TANH: "Tanh",
    ActivationFn.GELU: "GELU",
    ActivationFn.SILU: "SiLU",
    ActivationFn.HARDSWISH: "Hardswish",
    ActivationFn.HARDSIGMOID: "Hardsigmoid",
    ActivationFn.IDENTITY: "Identity",
}


def _leaf(node: LayerNode, rank: int) -> nn.Module:
    """One op -> one leaf module. ``rank`` is the unbatched input rank."""
    from torch import nn

    from convcost.frontends import yaml_modules as ym

    op = node.op
    if isinstance(op, Conv):
        dims = op.dims
        common: dict[str, Any] = {"in_channels": op.in_channels, "out_channels": op.out_channels,
                  "kernel_size": op.kernel, "stride": op.stride, "dilation": op.dilation,
                  "groups": op.groups, "bias": op.bias}
        sym = op.symmetric_padding
        if op.transposed:
            assert sym is not None
            cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dims]
            common.update(padding=sym, output_padding=op.output_padding)
            tconv: nn.Module = cls(**common)
            return tconv
        if sym is None:
            return ym.padded_conv(dims, op.padding, **common)
        conv_cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
        return conv_cls(padding=sym, **common)  # type: ignore[arg-type]
    if isinstance(op, Linear):
        return nn.Linear(op.in_features, op.out_features, bias=op.bias)
    if isinstance(op, BatchNorm):
        bn = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}
        return bn[rank](op.num_features, affine=op.affine,
                        track_running_stats=op.track_running_stats)
    if isinstance(op, Activation):
        if op.function is ActivationFn.SOFTMAX:
            return nn.Softmax(dim=1)
        module: nn.Module = getattr(nn, _ACT[op.function])()
        return module
    if isinstance(op, Pool):
        dims = op.dims
        if op.mode is PoolMode.MAX:
            mx = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}[dims]
            return mx(op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)
        avg = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}[dims]
        pool: nn.Module = avg(op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)
        return pool
    if isinstance(op, GlobalPool | AdaptivePool):
        dims = rank - 1
        size = (1,) * dims if isinstance(op, GlobalPool) else op.output_size
        if op.mode is PoolMode.MAX:
            amx = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}
            return amx[dims](size)
        aavg = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
        return aavg[dims](size)
    if isinstance(op, Flatten):
        return nn.Flatten(op.start_dim)
    if isinstance(op, Dropout):
        return nn.Dropout(op.p)
    if isinstance(op, Add):
        return ym.Add()
    if isinstance(op, Concat):
        return ym.Concat()
    raise InputError(f"the builder cannot make a module for {type(op).__name__}")
