"""Records -> costs, alternatives, variants, totals and the paper's Table 2 breakdown."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from convcost.core.cost import COUNTERS, Cost, Counters
from convcost.core.dtypes import DType
from convcost.core.ops import Conv, Shape
from convcost.core.pairing import Rule, find_pairs
from convcost.core.records import LayerRecord, SourceRead, Uncounted
from convcost.core.registry import cost_of
from convcost.core.variants import (
    Plan,
    Tally,
    Variant,
    Verdict,
    apply,
    conv_forms,
    plan,
    tally,
)
from convcost.errors import ConvcostError

__all__ = [
    "Alternative", "Analysis", "BlockRow", "BreakdownRow", "Row", "Rule", "Tally", "Totals",
    "Variant", "Verdict", "analyze_read", "analyze_records", "breakdown", "collapse",
    "cost_records", "find_pairs", "named_macs", "rewrite",
]


@dataclass(frozen=True)
class Totals(Counters):
    """The counters of many layers summed."""

    @classmethod
    def of(cls, costs: Iterable[Counters]) -> Totals:
        columns = zip(*map(_COUNTERS_OF, costs), strict=True)
        sums = [sum(column) for column in columns] or [0] * len(COUNTERS)
        return cls(**dict(zip(COUNTERS, sums, strict=True)))


_COUNTERS_OF = operator.attrgetter(*COUNTERS)


@dataclass(frozen=True)
class Alternative:
    """The other form of a convolution: separable for a standard conv, standard for a pair."""

    kind: Variant
    macs: int
    params: int
    weights: int
    span: tuple[int, int]
    """First and last row (inclusive) that the alternative replaces."""
    written_macs: int
    """MACs of the records it replaces, as written."""
    rule: Rule = Rule.NONE
    """The rule that gave it (see :class:`convcost.core.pairing.Rule`)."""
    written_params: int = 0
    written_weights: int = 0
    moved: int = 0
    """Squeeze-excite layers re-costed after the merged conv (included in the figures)."""
    dropped: int = 0
    """Per-channel layers between the halves that go with the depthwise half."""
    standard_convs: tuple[Conv, ...] = ()
    separable_convs: tuple[Conv, ...] = ()
    """The convolutions alone in each form (a lone depthwise conv is its own separable form;
    a linear pointwise half is its 1×1 conv), for timing them."""

    @property
    def ratio(self) -> float:
        """Alternative MACs over written MACs."""
        return self.macs / self.written_macs if self.written_macs else 0.0


@dataclass(frozen=True)
class Row:
    record: LayerRecord
    cost: Cost
    alternative: Alternative | None = None
    pair_head: int | None = None
    """For the pointwise half of a separable pair: the row of its depthwise half."""
    verdict: Verdict | None = None
    """For a convolution (and a linear layer that is a pointwise half): the rule that gave
    its alternative, or why it has none."""

    @property
    def name(self) -> str:
        return self.record.name


@dataclass(frozen=True)
class BreakdownRow:
    group: str
    macs: int
    params: int
    weights: int
    macs_pct: float
    params_pct: float
    weights_pct: float


@dataclass(frozen=True)
class Analysis:
    name: str
    input_shapes: tuple[Shape, ...]
    dtype: DType
    rows: tuple[Row, ...]
    totals: Totals
    breakdown: tuple[BreakdownRow, ...]
    variants: dict[Variant, Totals]
    rewritten_as: Variant = Variant.AS_WRITTEN
    uncounted: tuple[Uncounted, ...] = ()
    buffers_total: int | None = None
    extra: dict[str, object] = field(default_factory=dict)
    tallies: dict[Variant, Tally] = field(default_factory=dict)
    """For each rewritten form: what was rewritten and what was left as written, and why."""

    @property
    def lower_bound(self) -> bool:
        """True when some op was not costed, so every total is a lower bound."""
        return bool(self.uncounted)


# ---------------------------------------------------------------- costing


def cost_records(records: Sequence[LayerRecord], dtype: DType) -> list[Cost]:
    costs = []
    for rec in records:
        try:
            cost = cost_of(rec.op, rec.inputs, dtype)
        except ConvcostError as err:
            where = rec.origin
            raise err.within(
                layer=rec.name,
                file=where.file if where else None,
                line=where.line if where else None,
                col=where.col if where else None,
                key=where.key if where else None,
            ) from err
        bias_tied = rec.tied if rec.bias_tied is None else rec.bias_tied
        if rec.tied:
            cost = replace(cost, weights=0, affine=0, free=0)
        if bias_tied:
            cost = replace(cost, bias=0)
        costs.append(cost)
    return costs


def rewrite(
    records: Sequence[LayerRecord], costs: Sequence[Cost], to: Variant
) -> list[LayerRecord]:
    """The network with every depthwise conv made standard (a pair merged into one conv, a
    lone depthwise conv made dense), or every k×k conv made separable; see
    :mod:`convcost.core.variants` for what happens to the layers in between."""
    if to is Variant.AS_WRITTEN:
        return list(records)
    return apply(records, plan(records, costs).units[to])


# ---------------------------------------------------------------- alternatives


def _alternatives(
    records: Sequence[LayerRecord], costs: Sequence[Cost], dtype: DType, p: Plan
) -> tuple[dict[int, Alternative], dict[int, int]]:
    alts: dict[int, Alternative] = {}
    for units in p.units.values():
        for u in units:
            added = cost_records(u.added, dtype)
            removed = [costs[k] for k in u.removed]
            std_convs, sep_convs = conv_forms(records, u)
            alts[u.head] = Alternative(
                kind=u.variant, macs=sum(c.macs for c in added),
                params=sum(c.params for c in added), weights=sum(c.weights for c in added),
                span=(u.head, u.tail), written_macs=sum(c.macs for c in removed),
                rule=u.rule, written_params=sum(c.params for c in removed),
                written_weights=sum(c.weights for c in removed), moved=u.moved,
                dropped=u.dropped, standard_convs=std_convs, separable_convs=sep_convs,
            )
    return alts, dict(p.pairing.tails)


# ---------------------------------------------------------------- breakdown


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def breakdown(records: Sequence[LayerRecord], costs: Sequence[Cost]) -> tuple[BreakdownRow, ...]:
    sums: dict[str, list[int]] = {}
    for rec, cost in zip(records, costs, strict=True):
        s = sums.setdefault(rec.op.group(), [0, 0, 0])
        s[0] += cost.macs
        s[1] += cost.params
        s[2] += cost.weights
    tm = sum(s[0] for s in sums.values())
    tp = sum(s[1] for s in sums.values())
    tw = sum(s[2] for s in sums.values())
    ordered = sorted(sums.items(), key=lambda kv: (kv[0] == "Other", -kv[1][0], kv[0]))
    return tuple(
        BreakdownRow(g, m, p, w, _pct(m, tm), _pct(p, tp), _pct(w, tw))
        for g, (m, p, w) in ordered
    )


# ---------------------------------------------------------------- entry point


def analyze_records(
    records: Sequence[LayerRecord],
    *,
    name: str,
    input_shapes: Sequence[Shape],
    dtype: DType = DType.FLOAT32,
    rewrite_as: Variant = Variant.AS_WRITTEN,
    uncounted: Sequence[Uncounted] = (),
    buffers_total: int | None = None,
) -> Analysis:
    """Cost every record, find alternatives, and total the model and its two variants."""
    costs = cost_records(records, dtype)
    variants = {Variant.AS_WRITTEN: Totals.of(costs)}
    written_plan = plan(records, costs)
    tallies = tally(records, written_plan)
    rewritten: dict[Variant, tuple[list[LayerRecord], list[Cost]]] = {}
    for v in (Variant.STANDARD, Variant.SEPARABLE):
        recs = apply(records, written_plan.units[v])
        vc = cost_records(recs, dtype)
        rewritten[v] = (recs, vc)
        variants[v] = Totals.of(vc)
    p = written_plan
    if rewrite_as is not Variant.AS_WRITTEN:
        records, costs = rewritten[rewrite_as]
        p = plan(records, costs)
    alts, heads = _alternatives(records, costs, dtype, p)
    rows = tuple(
        Row(rec, cost, alts.get(i), heads.get(i), p.verdicts.get(i))
        for i, (rec, cost) in enumerate(zip(records, costs, strict=True))
    )
    return Analysis(
        name=name,
        input_shapes=tuple(tuple(s) for s in input_shapes),
        dtype=dtype,
        rows=rows,
        totals=Totals.of(costs),
        breakdown=breakdown(records, costs),
        variants=variants,
        rewritten_as=rewrite_as,
        uncounted=tuple(uncounted),
        buffers_total=buffers_total,
        tallies=tallies,
    )


# ---------------------------------------------------------------- depth


@dataclass(frozen=True)
class BlockRow:
    """Rows that share a path prefix, summed (``--depth N``)."""

    path: tuple[str, ...]
    rows: tuple[Row, ...]
    cost: Cost
    first: int = 0
    """Index of ``rows[0]`` in the sequence that was collapsed."""

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def is_leaf(self) -> bool:
        return len(self.rows) == 1 and self.rows[0].record.path == self.path


def collapse(rows: Sequence[Row], depth: int) -> list[BlockRow]:
    """Group consecutive rows by the first ``depth`` parts of their path (linear time)."""
    out: list[BlockRow] = []
    start = 0
    key: tuple[str, ...] | None = None
    for i, row in enumerate(rows):
        k = row.record.path[:depth]
        if k != key:
            if key is not None:
                out.append(_block(key, rows, start, i))
            key, start = k, i
    if key is not None:
        out.append(_block(key, rows, start, len(rows)))
    return out


def _block(key: tuple[str, ...], rows: Sequence[Row], start: int, stop: int) -> BlockRow:
    part = tuple(rows[start:stop])
    if len(part) == 1:
        return BlockRow(key, part, part[0].cost, start)
    t = Totals.of(r.cost for r in part)
    cost = Cost(output_shape=part[-1].cost.output_shape, macs=t.macs, weights=t.weights,
                bias=t.bias, affine=t.affine, free=t.free, buffers=t.buffers,
                other_ops=t.other_ops, bytes=t.bytes)
    return BlockRow(key, part, cost, start)


def named_macs(analysis: Analysis, depth: int | None) -> list[tuple[str, int]]:
    """Every row's (or, with ``depth``, every block's) name and MACs, named as the report
    names its lines: what a reference counter's per-layer counts are held against."""
    if depth is None:
        return [(row.name, row.cost.macs) for row in analysis.rows]
    return [(block.rows[0].name if block.is_leaf else (block.name or "(model)"), block.cost.macs)
            for block in collapse(analysis.rows, depth)]


def analyze_read(read: SourceRead, *, rewrite_as: Variant = Variant.AS_WRITTEN,
                 dtype: DType | None = None) -> Analysis:
    """Cost what a front-end read (``dtype`` overrides the source's own element type)."""
    analysis = analyze_records(
        read.records, name=read.name, input_shapes=read.input_shapes,
        dtype=dtype or read.dtype, rewrite_as=rewrite_as, uncounted=read.uncounted,
        buffers_total=read.buffers_total,
    )
    return replace(analysis, extra={**analysis.extra, **read.extra})
