"""Module-level records: modules whose aten decomposition hides what they are (a Linear on a
3-D input runs as view + mm + add; an instance norm as a reshaped batch norm) give one record
from the module itself, and everything they run inside is covered by it."""

from __future__ import annotations

from typing import Any

from convcost.core.ops import AdaptivePool, Linear, Norm, NormFn, Op, PoolMode
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.registry import ModuleRecord, handles_module, module_handlers
from convcost.frontends.torch.state import WalkState


@handles_module
def consume(module: Any, x: Any) -> list[ModuleRecord] | None:
    """A linear layer, RMS or instance norm, or adaptive average pool costed as a whole."""
    from torch import nn

    cls = type(module)
    shape = tensor_shape(x)

    def same_forward(base: type) -> bool:
        return isinstance(module, base) and cls.forward is base.forward  # type: ignore[attr-defined]

    if same_forward(nn.Linear):
        inputs = shape if len(shape) >= 2 else (1, *shape)
        op: Op = Linear(module.in_features, module.out_features, bias=module.bias is not None)
        return _whole(module, op, inputs, module.weight)
    if same_forward(nn.RMSNorm):
        norm_shape = tuple(int(s) for s in module.normalized_shape)
        op = Norm(NormFn.RMS, norm_shape, weight=module.weight is not None, bias=False)
        return _whole(module, op, shape, module.weight)
    for norm_cls in (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d):
        if same_forward(norm_cls):
            op = Norm(NormFn.INSTANCE, (shape[1],), weight=module.affine, bias=module.affine)
            return _whole(module, op, shape, module.weight)
    pools: tuple[tuple[type, int], ...] = (
        (nn.AdaptiveAvgPool1d, 1), (nn.AdaptiveAvgPool2d, 2), (nn.AdaptiveAvgPool3d, 3)
    )
    for pool_cls, dims in pools:
        if same_forward(pool_cls) and len(shape) == dims + 2:
            size = module.output_size
            items = size if isinstance(size, (list, tuple)) else (size,) * dims
            wanted = tuple(shape[2 + i] if n is None else int(n) for i, n in enumerate(items))
            return _whole(module, AdaptivePool(PoolMode.AVG, wanted), shape, None)
    return None


def _whole(module: Any, op: Op, shape: tuple[int, ...], weight: Any) -> list[ModuleRecord]:
    others = tuple(p for p in module.parameters(recurse=False) if p is not weight)
    return [ModuleRecord(op, (shape,), weight, others, type(module).__name__.lower())]


def pre_hook(state: WalkState, module: Any, args: tuple[Any, ...]) -> None:
    """A module starts: push it, and record it as a whole when a module handler knows it
    (then everything it runs inside is covered by its records)."""
    frame = state.push(module)
    x = args[0] if args else None
    if frame.consumed or not isinstance(x, state.torch.Tensor):
        return
    for handler in module_handlers():
        records = handler(module, x)
        if records is None:
            continue
        frame.consumed = True
        state.used_params.update(id(p) for p in module.parameters(recurse=False))
        for r in records:
            state.emit(r.op, r.inputs, r.label, r.weight, r.others,
                       name_by_param=r.name_by_param)
        return
