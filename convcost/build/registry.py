"""The builder registry: a core op type -> the function that makes its torch module.

Torch-free, so that the op modules of :mod:`convcost.ops` register their builders on every
path (a builder imports torch when it is called). Lookups load the catalogue first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convcost import catalog
from convcost.core.ops import Op
from convcost.core.registry import RegistryError

Builder = Callable[[Any, int], Any]
"""``builder(op, rank of the unbatched input) -> nn.Module``."""
_BUILDERS: dict[type, Builder] = {}


def builds(op_type: type) -> Callable[[Builder], Builder]:
    """Register the torch module of ``op_type``; registering a type twice is an error."""

    def register(fn: Builder) -> Builder:
        if op_type in _BUILDERS:
            raise RegistryError(f"a torch module for {op_type.__name__} is already registered")
        _BUILDERS[op_type] = fn
        return fn

    return register


def _load() -> None:
    import convcost.build.layers  # noqa: F401  (the core ops' modules)

    catalog.load()


def buildable() -> tuple[type, ...]:
    """The op types that have a torch module."""
    _load()
    return tuple(_BUILDERS)


def layer_for(op: Op, rank: int | None = None) -> Any:
    """The torch layer that computes ``op`` (parameters initialised by torch).

    ``rank`` is the rank of the unbatched input, where the op alone does not tell it
    (batch-norm, global pooling); without it an image input (C, H, W) is assumed.
    """
    _load()
    build = _BUILDERS.get(type(op))
    if build is None:
        raise TypeError(f"no torch layer for {type(op).__name__}")
    return build(op, rank or 3)
