"""`convcost analyze`: a model's rows, totals, breakdown, variants and reference agreement.

Renderers build Rich renderables or text; they never print.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.core.analysis import Analysis, BlockRow, Row, Totals, Variant, collapse
from convcost.core.convention import CONVENTION
from convcost.core.cost import Cost
from convcost.core.ops import (
    Conv,
)
from convcost.report import numbers as n
from convcost.report.collect import few_collections
from convcost.report.formats import SCHEMA_VERSION, to_csv, to_json

if TYPE_CHECKING:
    from rich.console import RenderableType

    from convcost.reference.model import ModelAgreement

BAR_WIDTH = 6


@dataclass(frozen=True)
class ModelReport:
    """What `analyze` found: the analysis, and reference agreement when it was asked for."""

    analysis: Analysis
    reference: dict[str, ModelAgreement] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    depth: int | None = None
    source: str = ""

    @property
    def totals(self) -> Totals:
        return self.analysis.totals

    @property
    def layers(self) -> tuple[Row, ...]:
        return self.analysis.rows

    def lines(self) -> list[Line]:
        return lines_of(self.analysis, self.depth)

    def to_dict(self) -> dict[str, Any]:
        with few_collections():  # a dict per layer: no need to rescan the analysis for each
            return to_dict(self)

    def to_json(self) -> str:
        with few_collections():
            return to_json(self.to_dict())

    def __rich__(self) -> RenderableType:
        from convcost.report.analysis_table import to_table

        return to_table(self)

    def _repr_html_(self) -> str:
        """A notebook shows this, once: real HTML tables, no Rich console involved."""
        from convcost.report.html import fragment

        return fragment(self)

    def summary(self) -> str:
        """One line: model, input, MACs, params and layer count."""
        a = self.analysis
        t = a.totals
        lb = "≥ " if a.lower_bound else ""
        shapes = ", ".join(n.shape(s) for s in a.input_shapes)
        return (f"{a.name}: {lb}{t.macs:,} MACs, {t.params:,} params, {lb}{t.bytes:,} bytes, "
                f"{len(a.rows):,} layers, input {shapes}")

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return f"<ModelReport {self.summary()}>"


# ---------------------------------------------------------------- one line per row or block


@dataclass(frozen=True)
class Line:
    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    geometry: str
    cost: Cost
    alternative: dict[str, Any] | None
    rows: tuple[Row, ...]

    @property
    def kind_text(self) -> str:
        """The kind and the geometry, the kernel once (see :func:`kind_text`)."""
        return kind_text(self.kind, self.geometry)


@functools.lru_cache(maxsize=4096)  # a big table repeats a few kinds many times
def kind_text(kind: str, geometry: str) -> str:
    """A kind that already ends with the geometry's first word (``conv 3×3`` with ``3×3 s2``)
    does not repeat it."""
    first, _, rest = geometry.partition(" ")
    if first and kind.split()[-1:] == [first]:
        return f"{kind} {rest}".strip()
    return f"{kind} {geometry}".strip()


def _alt_dict(analysis: Analysis, row: Row) -> dict[str, Any] | None:
    alt = row.alternative
    if alt is None:
        return None
    return {"kind": str(alt.kind), "rule": str(alt.rule), "macs": alt.macs,
            "params": alt.params, "weights": alt.weights, "ratio": alt.ratio,
            "written_macs": alt.written_macs, "written_params": alt.written_params,
            "replaces": [analysis.rows[alt.span[0]].name, analysis.rows[alt.span[1]].name],
            "moved": alt.moved, "dropped": alt.dropped}


def _block_alt(analysis: Analysis, block: BlockRow) -> dict[str, Any] | None:
    """A block's MACs with each of its convolutions in its other form."""
    first = block.first
    indices = range(first, first + len(block.rows))
    macs, changed, i = 0, False, first
    while i < first + len(block.rows):
        alt = analysis.rows[i].alternative
        if alt is not None and alt.span[1] in indices:
            macs += alt.macs
            changed = True
            i = alt.span[1] + 1
            continue
        macs += analysis.rows[i].cost.macs
        i += 1
    if not changed:
        return None
    return {"kind": "alternative", "macs": macs, "params": None, "weights": None,
            "ratio": macs / block.cost.macs if block.cost.macs else 0.0, "replaces": []}


def lines_of(analysis: Analysis, depth: int | None) -> list[Line]:
    if depth is None:
        return [
            Line(row.name, row.record.op.label(),
                 row.record.inputs[0] if row.record.inputs else (),
                 row.cost.output_shape, row.record.op.geometry(), row.cost,
                 _alt_dict(analysis, row), (row,))
            for row in analysis.rows
        ]
    out = []
    for block in collapse(analysis.rows, depth):
        if block.is_leaf:
            row = block.rows[0]
            out.append(Line(row.name, row.record.op.label(),
                            row.record.inputs[0] if row.record.inputs else (),
                            row.cost.output_shape, row.record.op.geometry(), row.cost,
                            _alt_dict(analysis, row), block.rows))
        else:
            first = block.rows[0].record
            out.append(Line(block.name or "(model)", f"block ({len(block.rows)})",
                            first.inputs[0] if first.inputs else (), block.cost.output_shape,
                            "", block.cost, _block_alt(analysis, block), block.rows))
    return out


# ---------------------------------------------------------------- JSON


def to_dict(report: ModelReport) -> dict[str, Any]:
    a = report.analysis
    layers = []
    for line in report.lines():
        entry: dict[str, Any] = {
            "name": line.name,
            "kind": line.kind,
            "input_shape": list(line.input_shape),
            "output_shape": list(line.output_shape),
            "macs": line.cost.macs,
            "flops": line.cost.flops,
            "params": line.cost.params,
            "weights": line.cost.weights,
            "bias": line.cost.bias,
            "affine": line.cost.affine,
            "free": line.cost.free,
            "other_ops": line.cost.other_ops,
            "bytes": line.cost.bytes,
            "geometry": line.geometry,
            "alternative": line.alternative,
        }
        if len(line.rows) == 1:
            op = line.rows[0].record.op
            entry["op"] = type(op).__name__
            verdict = line.rows[0].verdict
            if verdict is not None:
                entry["rule"] = str(verdict.rule)
                entry["rule_note"] = verdict.note
            if isinstance(op, Conv):
                entry.update(kernel=list(op.kernel), stride=list(op.stride),
                             padding=[list(p) for p in op.padding], dilation=list(op.dilation),
                             groups=op.groups, role=str(op.role))
        else:
            entry["layers"] = len(line.rows)
        refs = {tool: {"macs": ag.layers[line.name].theirs,
                       "status": str(ag.layers[line.name].status),
                       "reason": ag.layers[line.name].reason}
                for tool, ag in report.reference.items() if line.name in ag.layers}
        if refs:
            entry["reference"] = refs
        layers.append(entry)
    written = a.variants[Variant.AS_WRITTEN]
    data: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "model": a.name,
        "source": report.source,
        "convention": CONVENTION.to_dict(),
        "input_shape": list(a.input_shapes[0]) if len(a.input_shapes) == 1 else
        [list(s) for s in a.input_shapes],
        "dtype": str(a.dtype),
        "rewritten_as": str(a.rewritten_as),
        "lower_bound": a.lower_bound,
        "totals": a.totals.to_dict(),
        "layers": layers,
        "breakdown": [
            {"group": b.group, "macs": b.macs, "params": b.params, "weights": b.weights,
             "macs_pct": b.macs_pct, "params_pct": b.params_pct, "weights_pct": b.weights_pct}
            for b in a.breakdown
        ],
        "variants": {
            str(v): {"macs": t.macs, "params": t.params, "weights": t.weights,
                     "macs_ratio": t.macs / written.macs if written.macs else 0.0,
                     **_tally_dict(a, v)}
            for v, t in a.variants.items()
        },
        "uncounted": [{"op": u.op, "count": u.count, "modules": list(u.modules)}
                      for u in a.uncounted],
    }
    if a.buffers_total is not None:
        data["totals"]["buffers"] = a.buffers_total
    if report.reference:
        data["reference"] = {
            tool: {
                "total": ag.count.total,
                "status": str(ag.total.status),
                "reason": ag.total.reason,
                "by_operator": ag.count.by_operator,
                "unsupported": ag.count.unsupported,
                "layers": {name: x.theirs for name, x in ag.layers.items()},
            }
            for tool, ag in report.reference.items()
        }
    for key in ("inputs", "build", "execution", "data_dependent_ops", "heads", "published"):
        if key in a.extra:  # torch models: how the count was made
            data[key] = a.extra[key]
    if report.notes:
        data["notes"] = list(report.notes)
    return data


def _tally_dict(a: Analysis, v: Variant) -> dict[str, Any]:
    t = a.tallies.get(v)
    if t is None:
        return {}
    return {"rewritten": [{"what": w, "count": c} for w, c in t.rewritten],
            "left": [{"what": w, "count": c} for w, c in t.left]}


_LEGEND = ("alternative column: the other form's MACs and its ratio to as written, by rule — "
           "dw+pw a depthwise conv and its pointwise conv as one conv (the norm and "
           "activation between them go with the depthwise half); dw+SE+pw the same through "
           "squeeze-excite, which moves after the merged conv at its channels; dw+fc with a linear "
           "layer over channels; dense a depthwise conv with no partner; k×k, grouped made dw + pw")


def tally_lines(a: Analysis) -> list[str]:
    """For each rewritten form, what was rewritten and what was left as written, and why."""
    names = {Variant.STANDARD: "all standard", Variant.SEPARABLE: "all separable"}
    out = [_LEGEND] if any(r.alternative for r in a.rows) else []
    for v, t in a.tallies.items():
        done = "; ".join(f"{c} {w}" for w, c in t.rewritten) or "nothing to rewrite"
        left = "; ".join(f"{c} {w}" for w, c in t.left)
        out.append(f"{names.get(v, str(v))}: {done}" + (f" · left as written: {left}"
                                                           if left else ""))
    return out


# ---------------------------------------------------------------- CSV and Markdown


_CSV_HEAD = ["name", "kind", "input_shape", "output_shape", "geometry", "params", "weights",
             "macs", "flops", "other_ops", "bytes", "alternative_kind", "alternative_macs",
             "alternative_rule"]


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def to_csv_text(report: ModelReport) -> str:
    head = list(_CSV_HEAD) + [f"{tool}_macs" for tool in report.reference]
    rows = []
    for line in report.lines():
        alt = line.alternative or {}
        verdict = line.rows[0].verdict if len(line.rows) == 1 else None
        row: list[Any] = [line.name, line.kind, _shape_text(line.input_shape),
                          _shape_text(line.output_shape),
                          line.geometry, line.cost.params, line.cost.weights, line.cost.macs,
                          line.cost.flops, line.cost.other_ops, line.cost.bytes,
                          alt.get("kind", ""), alt.get("macs", ""),
                          str(verdict.rule) if verdict else ""]
        for ag in report.reference.values():
            x = ag.layers.get(line.name)
            row.append(x.theirs if x else "")
        rows.append(row)
    t = report.analysis.totals
    total: list[Any] = ["total", "", "", "", "", t.params, t.weights, t.macs, t.flops,
                        t.other_ops, t.bytes, "", "", ""]
    total += [ag.count.total for ag in report.reference.values()]
    rows.append(total)
    return to_csv(head, rows)
