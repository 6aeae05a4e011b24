"""The table behind the formula registry: op type -> formula, and which ops move no data.

Formulas register here with :func:`formula`; :mod:`convcost.core.registry` imports every
built-in formula module, so the registry is complete the moment it is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from convcost.core.cost import Cost
from convcost.core.ops import Shape
from convcost.registry_table import RegistryError, Table

__all__ = ["FORMULAS", "SHAPES", "VIEWS", "Formula", "RegistryError", "ShapeRule", "formula",
           "shape_rule"]

Formula = Callable[[Any, tuple[Shape, ...]], Cost]
F = TypeVar("F", bound=Formula)

ShapeRule = Callable[[Any, tuple[Shape, ...]], Shape]
S = TypeVar("S", bound=ShapeRule)

_FORMULAS: Table[type, Formula] = Table("a formula for")
_SHAPES: Table[type, ShapeRule] = Table("a shape rule for")
FORMULAS = _FORMULAS.entries
SHAPES = _SHAPES.entries
"""Output-shape rules, apart from the costs: what the YAML compiler asks of a layer."""
VIEWS: set[type] = set()  # ops that move no data at inference (flatten, dropout)


def formula(op_type: type, *, moves_data: bool = True) -> Callable[[F], F]:
    """Register the cost function of ``op_type``; registering a type twice is an error.

    ``moves_data=False`` marks a view (flatten, inference dropout): its memory traffic is zero.
    """

    def register(fn: F) -> F:
        _FORMULAS.add(op_type, fn, op_type.__name__)
        if not moves_data:
            VIEWS.add(op_type)
        return fn

    return register


def shape_rule(op_type: type) -> Callable[[S], S]:
    """Register the output-shape rule of ``op_type`` (its formula uses it too); twice is an
    error."""

    def register(fn: S) -> S:
        _SHAPES.add(op_type, fn, op_type.__name__)
        return fn

    return register
