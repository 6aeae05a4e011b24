"""Layer records: what every front-end produces and the core consumes.

A record says which op ran where, on which input shapes. It carries no cost: costs come
only from the formula registry, so the YAML and torch front-ends cannot count differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcost.core.ops import Op, Shape
from convcost.errors import Context


@dataclass(frozen=True)
class LayerRecord:
    path: tuple[str, ...]
    """Hierarchical name: blocks (YAML) or modules (torch), the layer's own name last."""
    op: Op
    inputs: tuple[Shape, ...]
    """Input shapes, batch dimension first."""
    origin: Context | None = None
    """Where the layer was declared (file and line), for messages."""
    tied: bool = False
    """Its parameters are shared with an earlier record and were counted there."""

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Uncounted:
    """An op the model ran that convcost has no formula for: its count is missing."""

    op: str
    count: int
    modules: tuple[str, ...]
