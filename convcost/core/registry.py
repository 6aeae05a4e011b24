"""The one formula registry: a layer's op type -> one pure function of shapes.

A formula returns the layer's Cost without ``bytes``; :func:`cost_of` adds the memory traffic
the same way for every op, so that no formula can get it differently.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any, TypeVar, cast

from convcost.core.cost import Cost, numel
from convcost.core.dtypes import DType
from convcost.core.ops import Op, Shape
from convcost.errors import InputError, ShapeError

Formula = Callable[[Any, tuple[Shape, ...]], Cost]
F = TypeVar("F", bound=Formula)

_FORMULAS: dict[type, Formula] = {}
_VIEWS: set[type] = set()  # ops that move no data at inference (flatten, dropout)


class RegistryError(RuntimeError):
    """A programming error in the registry itself (never a user's input)."""


def formula(op_type: type, *, moves_data: bool = True) -> Callable[[F], F]:
    """Register the cost function of ``op_type``; registering a type twice is an error.

    ``moves_data=False`` marks a view (flatten, inference dropout): its memory traffic is zero.
    """

    def register(fn: F) -> F:
        if op_type in _FORMULAS:
            raise RegistryError(f"a formula for {op_type.__name__} is already registered")
        _FORMULAS[op_type] = fn
        if not moves_data:
            _VIEWS.add(op_type)
        return fn

    return register


def registered() -> tuple[type, ...]:
    return tuple(_FORMULAS)


def cost_of(op: Op, inputs: Sequence[Shape], dtype: DType = DType.FLOAT32) -> Cost:
    """The cost of ``op`` applied to tensors of the given shapes (batch dimension first)."""
    shapes = tuple(tuple(s) for s in inputs)
    try:
        return _cached(cast(Hashable, op), shapes, dtype)
    except TypeError as e:
        if "unhashable" not in str(e):
            raise
        return _compute(op, shapes, dtype)  # an op with a mutable field: no cache


# Ops and shapes are immutable, so one (op, shapes, dtype) always costs the same. Networks
# repeat layers, and an analysis costs each record again for its variants and alternatives.
@lru_cache(maxsize=1 << 16)
def _cached(op: Hashable, shapes: tuple[Shape, ...], dtype: DType) -> Cost:
    return _compute(cast(Op, op), shapes, dtype)


def _compute(op: Op, shapes: tuple[Shape, ...], dtype: DType) -> Cost:
    import convcost.core.formulas  # noqa: F401  (registers the built-in formulas)

    fn = _FORMULAS.get(type(op))
    if fn is None:
        raise InputError(f"no formula for {type(op).__name__}")
    for s in shapes:
        if any((not isinstance(d, int)) or d < 1 for d in s):
            raise ShapeError(f"shape {list(s)} must hold positive integers")
    cost = fn(op, shapes)
    if type(op) in _VIEWS:
        return cost
    moved = sum(numel(s) for s in shapes) + numel(cost.output_shape) + cost.params + cost.buffers
    return replace(cost, bytes=moved * dtype.itemsize)
