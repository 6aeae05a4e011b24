"""The table behind the formula registry: op type -> formula, and which ops move no data.

Formulas register here with :func:`formula`; :mod:`convcost.core.registry` imports every
built-in formula module, so the registry is complete the moment it is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from convcost.core.cost import Cost
from convcost.core.ops import Shape

Formula = Callable[[Any, tuple[Shape, ...]], Cost]
F = TypeVar("F", bound=Formula)

ShapeRule = Callable[[Any, tuple[Shape, ...]], Shape]
S = TypeVar("S", bound=ShapeRule)

FORMULAS: dict[type, Formula] = {}
SHAPES: dict[type, ShapeRule] = {}
"""Output-shape rules, apart from the costs: what the YAML compiler asks of a layer."""
VIEWS: set[type] = set()  # ops that move no data at inference (flatten, dropout)


class RegistryError(RuntimeError):
    """A programming error in the registry itself (never a user's input)."""


def formula(op_type: type, *, moves_data: bool = True) -> Callable[[F], F]:
    """Register the cost function of ``op_type``; registering a type twice is an error.

    ``moves_data=False`` marks a view (flatten, inference dropout): its memory traffic is zero.
    """

    def register(fn: F) -> F:
        if op_type in FORMULAS:
            raise RegistryError(f"a formula for {op_type.__name__} is already registered")
        FORMULAS[op_type] = fn
        if not moves_data:
            VIEWS.add(op_type)
        return fn

    return register


def shape_rule(op_type: type) -> Callable[[S], S]:
    """Register the output-shape rule of ``op_type`` (its formula uses it too); twice is an
    error."""

    def register(fn: S) -> S:
        if op_type in SHAPES:
            raise RegistryError(f"a shape rule for {op_type.__name__} is already registered")
        SHAPES[op_type] = fn
        return fn

    return register
