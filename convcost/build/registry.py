"""The builder registry: a core op type -> the function that makes its torch module.

Torch-free, so that the op modules of :mod:`convcost.ops` register their builders on every
path (a builder imports torch when it is called). Lookups load the catalogue first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convcost import catalog
from convcost.core.ops import Op
from convcost.registry_table import Table

Builder = Callable[[Any, int], Any]
"""``builder(op, rank of the unbatched input) -> nn.Module``."""


def _load() -> None:
    import convcost.build.layers  # noqa: F401  (the core ops' modules)

    catalog.load()


_BUILDERS: Table[type, Builder] = Table("a torch module for", _load)


def builds(op_type: type) -> Callable[[Builder], Builder]:
    """Register the torch module of ``op_type``; registering a type twice is an error."""

    def register(fn: Builder) -> Builder:
        _BUILDERS.add(op_type, fn, op_type.__name__)
        return fn

    return register


def buildable() -> tuple[type, ...]:
    """The op types that have a torch module."""
    return tuple(_BUILDERS.loaded())


def layer_for(op: Op, rank: int | None = None) -> Any:
    """The torch layer that computes ``op`` (parameters initialised by torch).

    ``rank`` is the rank of the unbatched input, where the op alone does not tell it
    (batch-norm, global pooling); without it an image input (C, H, W) is assumed.
    """
    build = _BUILDERS.get(type(op))
    if build is None:
        raise TypeError(f"no torch layer for {type(op).__name__}")
    return build(op, rank or 3)
