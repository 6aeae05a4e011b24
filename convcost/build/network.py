"""A resolved YAML spec -> a real ``torch.nn.Module`` with the same layers.

Every record of :func:`convcost.frontends.yaml_records.records_from_spec` is one leaf module
whose ``named_modules()`` name is ``".".join(record.path)``; parameters add up to the analysis'
``params``; the forward gives the output shape the records say. torch is imported only when
:func:`build_module` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from convcost.errors import InputError
from convcost.frontends.yaml_spec import GroupNode, LayerNode, ModelSpec, ParallelNode, SpecNode

if TYPE_CHECKING:
    from torch import nn

__all__ = ["build_module"]


def build_module(spec: ModelSpec) -> nn.Module:
    """The spec as an ``nn.Module`` (fresh random weights, training mode, on the CPU)."""
    from convcost.build.containers import SpecSequence

    return SpecSequence([(n.name, _node(n)) for n in spec.layers])


def _node(node: SpecNode) -> nn.Module:
    from convcost.build import containers as ym

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


def _leaf(node: LayerNode, rank: int) -> nn.Module:
    """One op -> one leaf module. ``rank`` is the unbatched input rank."""
    from convcost.build.registry import layer_for

    try:
        module: nn.Module = layer_for(node.op, rank)
    except TypeError:
        raise InputError(
            f"the builder cannot make a module for {type(node.op).__name__}"
        ) from None
    return module
