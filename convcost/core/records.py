"""Layer records: what every front-end produces and the core consumes.

A record says which op ran where, on which input shapes. It carries no cost: costs come
only from the formula registry, so the YAML and torch front-ends cannot count differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from convcost.core.dtypes import DType
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
    """Its weight is shared with an earlier record and was counted there."""
    bias_tied: bool | None = None
    """Whether its bias was counted on an earlier record too; None: the same as ``tied``.
    (A tied output layer often has a bias of its own, as BERT's decoder does.)"""
    sources: tuple[int, ...] | None = None
    """Data flow, when the front-end knows it: for each input, the index (in the record list)
    of the record that produced it, -1 for a model input. None: unknown; the core then infers
    producers from execution order and shapes (see :mod:`convcost.core.graph`)."""

    @property
    def name(self) -> str:
        return ".".join(self.path)

    def without_sources(self) -> LayerRecord:
        """The record with its data flow dropped (``dataclasses.replace`` inspects every field
        on every call: this is on the path of every record of a rewritten network)."""
        if self.sources is None:
            return self
        return LayerRecord(self.path, self.op, self.inputs, self.origin, self.tied,
                           self.bias_tied)


@dataclass(frozen=True)
class Uncounted:
    """An op the model ran that convcost has no formula for: its count is missing."""

    op: str
    count: int
    modules: tuple[str, ...]


@dataclass(frozen=True)
class SourceRead:
    """What a front-end read from a source: its layer records, and what it knows of the
    source (its name, input shapes, element type, what it could not cost, and front-end facts
    that the report carries in ``Analysis.extra``). Costing is the pipeline's."""

    name: str
    records: tuple[LayerRecord, ...]
    input_shapes: tuple[Shape, ...]
    dtype: DType
    """The source's own element type for memory traffic (a given ``--dtype`` overrides it)."""
    uncounted: tuple[Uncounted, ...] = ()
    buffers_total: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
