"""Records -> costs, alternatives, variants, totals and the paper's Table 2 breakdown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from convcost._compat import StrEnum
from convcost.core.cost import FLOPS_PER_MAC, Cost
from convcost.core.dtypes import DType
from convcost.core.ops import (
    Activation,
    BatchNorm,
    Conv,
    ConvRole,
    Dropout,
    Kind,
    Linear,
    Shape,
)
from convcost.core.records import LayerRecord, Uncounted
from convcost.core.registry import cost_of
from convcost.core.rewrite import can_separate, is_separable_pair, to_separable, to_standard
from convcost.errors import ConvcostError


class Variant(StrEnum):
    AS_WRITTEN = "as_written"
    STANDARD = "standard"
    SEPARABLE = "separable"


@dataclass(frozen=True)
class Totals:
    macs: int = 0
    weights: int = 0
    bias: int = 0
    affine: int = 0
    free: int = 0
    buffers: int = 0
    other_ops: int = 0
    bytes: int = 0

    @property
    def params(self) -> int:
        return self.weights + self.bias + self.affine + self.free

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs

    @classmethod
    def of(cls, costs: Iterable[Cost]) -> Totals:
        t = [0] * 8
        for c in costs:
            t[0] += c.macs
            t[1] += c.weights
            t[2] += c.bias
            t[3] += c.affine
            t[4] += c.free
            t[5] += c.buffers
            t[6] += c.other_ops
            t[7] += c.bytes
        return cls(*t)

    def to_dict(self) -> dict[str, int]:
        return {
            "macs": self.macs,
            "flops": self.flops,
            "params": self.params,
            "weights": self.weights,
            "bias": self.bias,
            "affine": self.affine,
            "free": self.free,
            "buffers": self.buffers,
            "other_ops": self.other_ops,
            "bytes": self.bytes,
        }


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
    """MACs of the convolution(s) it replaces, as written."""

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


_BETWEEN = (BatchNorm, Activation, Dropout)


def find_pairs(records: Sequence[LayerRecord], costs: Sequence[Cost]) -> dict[int, int]:
    """Depthwise -> pointwise pairs, normalisation/activation allowed between: {dw: pw}.

    Each step must feed the next (its input shape is the previous output shape).
    """
    pairs: dict[int, int] = {}
    for i, rec in enumerate(records):
        dw = rec.op
        if not isinstance(dw, Conv) or dw.role is not ConvRole.DEPTHWISE or dw.transposed:
            continue
        shape = costs[i].output_shape
        for j in range(i + 1, len(records)):
            nxt = records[j]
            if len(nxt.inputs) != 1 or nxt.inputs[0] != shape:
                break
            if isinstance(nxt.op, Conv):
                if is_separable_pair(dw, nxt.op):
                    pairs[i] = j
                break
            if not isinstance(nxt.op, _BETWEEN):
                break
            shape = costs[j].output_shape
    return pairs


def _prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) - 1 and a[n] == b[n]:
        n += 1
    return a[:n]


def _trailing_between(records: Sequence[LayerRecord], i: int, shape: Shape) -> list[LayerRecord]:
    """Normalisation/activation records right after record i, fed by it."""
    out = []
    for rec in records[i + 1 :]:
        if not isinstance(rec.op, _BETWEEN) or rec.inputs != (shape,):
            break
        out.append(rec)
    return out


def rewrite(
    records: Sequence[LayerRecord], costs: Sequence[Cost], to: Variant
) -> list[LayerRecord]:
    """The network with every pair made standard, or every eligible conv made separable.

    pair -> standard: [dw, norm/act..., pw] becomes [conv].
    standard -> separable: conv becomes [dw, copies of the norm/act that follow conv, pw].
    """
    if to is Variant.AS_WRITTEN:
        return list(records)
    out: list[LayerRecord] = []
    if to is Variant.STANDARD:
        pairs = find_pairs(records, costs)
        skip_until = -1
        for i, rec in enumerate(records):
            if i <= skip_until:
                continue
            if i in pairs:
                j = pairs[i]
                dw, pw = rec.op, records[j].op
                assert isinstance(dw, Conv) and isinstance(pw, Conv)
                pre = _prefix(rec.path, records[j].path)
                name = f"{rec.path[len(pre)]}+{records[j].path[len(pre)]}"
                out.append(replace(rec, path=(*pre, name), op=to_standard(dw, pw)))
                skip_until = j
            else:
                out.append(rec)
        return out
    for i, rec in enumerate(records):
        op = rec.op
        if isinstance(op, Conv) and can_separate(op):
            dw, pw = to_separable(op)
            dw_shape = cost_of(dw, rec.inputs).output_shape
            out.append(replace(rec, path=(*rec.path, "dw"), op=dw))
            for b in _trailing_between(records, i, costs[i].output_shape):
                b_op = replace(b.op, num_features=dw.out_channels) if isinstance(
                    b.op, BatchNorm
                ) else b.op
                out.append(replace(b, path=(*rec.path, f"dw_{b.path[-1]}"), op=b_op,
                                   inputs=(dw_shape,)))
            out.append(replace(rec, path=(*rec.path, "pw"), op=pw, inputs=(dw_shape,)))
        else:
            out.append(rec)
    return out


# ---------------------------------------------------------------- alternatives


def _alternatives(
    records: Sequence[LayerRecord], costs: Sequence[Cost], dtype: DType
) -> tuple[dict[int, Alternative], dict[int, int]]:
    alts: dict[int, Alternative] = {}
    pairs = find_pairs(records, costs)
    for i, j in pairs.items():
        dw, pw = records[i].op, records[j].op
        assert isinstance(dw, Conv) and isinstance(pw, Conv)
        std = cost_of(to_standard(dw, pw), records[i].inputs, dtype)
        alts[i] = Alternative(
            kind=Variant.STANDARD, macs=std.macs, params=std.params, weights=std.weights,
            span=(i, j), written_macs=costs[i].macs + costs[j].macs,
        )
    for i, rec in enumerate(records):
        if isinstance(rec.op, Conv) and can_separate(rec.op):
            dw, pw = to_separable(rec.op)
            d = cost_of(dw, rec.inputs, dtype)
            p = cost_of(pw, [d.output_shape], dtype)
            alts[i] = Alternative(
                kind=Variant.SEPARABLE, macs=d.macs + p.macs, params=d.params + p.params,
                weights=d.weights + p.weights, span=(i, i), written_macs=costs[i].macs,
            )
    heads = {j: i for i, j in pairs.items()}
    return alts, heads


# ---------------------------------------------------------------- breakdown


def group_of(op: object) -> str:
    """The paper's Table 2 row a layer belongs to."""
    if isinstance(op, Conv):
        k = op.kernel_label()
        if op.transposed:
            return f"Conv transposed {k}"
        role = op.role
        if role is ConvRole.POINTWISE:
            return f"Conv {k}"
        if role is ConvRole.DEPTHWISE:
            return f"Conv DW {k}"
        if role is ConvRole.GROUPED:
            return f"Conv grouped {k}"
        return f"Conv {k}"
    if isinstance(op, Linear):
        return "Fully connected"
    if getattr(op, "kind", None) in (Kind.MATMUL, Kind.ATTENTION):
        return "Matmul / attention"
    return "Other"


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def breakdown(records: Sequence[LayerRecord], costs: Sequence[Cost]) -> tuple[BreakdownRow, ...]:
    sums: dict[str, list[int]] = {}
    for rec, cost in zip(records, costs, strict=True):
        s = sums.setdefault(group_of(rec.op), [0, 0, 0])
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
    rewritten: dict[Variant, tuple[list[LayerRecord], list[Cost]]] = {}
    for v in (Variant.STANDARD, Variant.SEPARABLE):
        recs = rewrite(records, costs, v)
        vc = cost_records(recs, dtype)
        rewritten[v] = (recs, vc)
        variants[v] = Totals.of(vc)
    if rewrite_as is not Variant.AS_WRITTEN:
        records, costs = rewritten[rewrite_as]
    alts, heads = _alternatives(records, costs, dtype)
    rows = tuple(
        Row(rec, cost, alts.get(i), heads.get(i))
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
