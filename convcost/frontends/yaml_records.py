"""A resolved YAML spec -> layer records, shapes inferred layer to layer by the core.

The front-end never computes a cost: it only asks the core's shape rules
(``shape_of(op, inputs)``) what each layer gives. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.core.analysis import Analysis, Variant, analyze_read
from convcost.core.dtypes import DType
from convcost.core.ops import Shape
from convcost.core.records import LayerRecord, SourceRead
from convcost.core.registry import shape_of
from convcost.errors import Context, ConvcostError, InputError
from convcost.frontends.yaml_spec import GroupNode, LayerNode, ModelSpec, SpecNode

__all__ = ["analyze_spec", "read_spec", "records_from_spec"]


class _RecordWriter:
    """Records in execution order, each with the index of the record that made each input
    (``LayerRecord.sources``; -1 for the model input)."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.records: list[LayerRecord] = []

    def leaf(self, node: LayerNode, path: tuple[str, ...], inputs: Sequence[Flow]) -> Flow:
        rec = LayerRecord(path=(*path, node.name), op=node.op,
                          inputs=tuple(s for s, _ in inputs), origin=node.origin,
                          sources=tuple(src for _, src in inputs))
        try:
            out = shape_of(node.op, rec.inputs)
        except ConvcostError as exc:
            o = node.origin
            raise exc.within(file=o.file, line=o.line, col=o.col, key=o.key,
                             layer=rec.name) from None
        self.records.append(rec)
        return out, len(self.records) - 1

    def seq(self, nodes: Sequence[SpecNode], path: tuple[str, ...], flow: Flow) -> Flow:
        for node in nodes:
            flow = self.node(node, path, flow)
        return flow

    def node(self, node: SpecNode, path: tuple[str, ...], flow: Flow) -> Flow:
        if isinstance(node, LayerNode):
            return self.leaf(node, path, [flow])
        if isinstance(node, GroupNode):
            return self.seq(node.children, (*path, node.name), flow)
        inner = (*path, node.name)
        outs = [self.seq(b.children, (*inner, b.name), flow) for b in node.branches]
        out = self.leaf(node.join, inner, outs)
        for a in node.after:
            out = self.leaf(a, inner, [out])
        return out


Flow = tuple[Shape, int]
"""A tensor: its shape and the index of the record that made it (-1: the model input)."""


def records_from_spec(spec: ModelSpec, *, batch: int = 1) -> list[LayerRecord]:
    """Every layer of ``spec`` as a LayerRecord with its input shapes (batch first).

    Paths are hierarchical: blocks and expanded layers add their name, a repetition its
    index, a residual ``body`` / ``shortcut`` and then ``add``; see docs/yaml.md.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InputError(f"batch must be a positive integer, got {batch!r}",
                         Context(flag="--batch"))
    walker = _RecordWriter(batch)
    walker.seq(spec.layers, (), ((batch, *spec.input_shape), -1))
    return walker.records


def analyze_spec(
    spec: ModelSpec, *, batch: int = 1, rewrite_as: Variant = Variant.AS_WRITTEN,
    dtype: DType | None = None,
) -> Analysis:
    """The spec read and costed (``dtype`` overrides the spec's own)."""
    return analyze_read(read_spec(spec, batch=batch), rewrite_as=rewrite_as, dtype=dtype)


def read_spec(spec: ModelSpec, *, batch: int = 1) -> SourceRead:
    """The spec's records, with its name, input shape and element type."""
    return SourceRead(spec.name, tuple(records_from_spec(spec, batch=batch)),
                      ((batch, *spec.input_shape),), spec.dtype)
