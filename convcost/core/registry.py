"""The one formula registry: a layer's op type -> one pure function of shapes.

Importing this module imports every formula of core's ops; an op module of convcost.ops
registers its own when imported (so an op object's formula is always there), and
:func:`registered` loads the catalogue to answer for all.

A formula returns the layer's Cost without ``bytes``; :func:`cost_of` adds the memory traffic
the same way for every op, so that no formula can get it differently.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import cast

import convcost.core.formulas  # noqa: F401  (registers the built-in formulas)
from convcost import catalog
from convcost.core.cost import Cost, numel
from convcost.core.dtypes import DType
from convcost.core.formula_table import (
    FORMULAS,
    SHAPES,
    VIEWS,
    Formula,
    RegistryError,
    formula,
    shape_rule,
)
from convcost.core.ops import Op, Shape
from convcost.errors import InputError, ShapeError

__all__ = ["Formula", "RegistryError", "cost_of", "formula", "registered", "shape_of",
           "shape_rule"]


def registered() -> tuple[type, ...]:
    """Every op type with a formula: core's and the op catalogue's."""
    catalog.load()
    return tuple(FORMULAS)


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
    fn = FORMULAS.get(type(op))
    if fn is None:
        raise InputError(f"no formula for {type(op).__name__}")
    cost = fn(op, _positive(shapes))
    if type(op) in VIEWS:
        return cost
    moved = sum(numel(s) for s in shapes) + numel(cost.output_shape) + cost.params + cost.buffers
    return replace(cost, bytes=moved * dtype.itemsize)


def shape_of(op: Op, inputs: Sequence[Shape]) -> Shape:
    """The output shape of ``op`` on inputs of these shapes (batch first), from its shape rule
    alone: nothing is costed (every formula takes its output shape from the same rule)."""
    shapes = tuple(tuple(s) for s in inputs)
    rule = SHAPES.get(type(op))
    if rule is None:
        raise InputError(f"no shape rule for {type(op).__name__}")
    return rule(op, _positive(shapes))


def _positive(shapes: tuple[Shape, ...]) -> tuple[Shape, ...]:
    for s in shapes:
        if any((not isinstance(d, int)) or d < 1 for d in s):
            raise ShapeError(f"shape {list(s)} must hold positive integers")
    return shapes
