"""`convcost analyze`: a model's rows, totals, breakdown, variants and reference agreement.

Renderers build Rich renderables or text; they never print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convcost.core.analysis import Analysis, BlockRow, Row, Rule, Totals, Variant, collapse
from convcost.core.convention import CONVENTION
from convcost.core.cost import Cost
from convcost.core.ops import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvRole,
    FreeParameter,
    GlobalPool,
    Linear,
    Pool,
    Recurrent,
    Reduce,
    Upsample,
)
from convcost.reference.model import ModelAgreement
from convcost.report import numbers as n
from convcost.report.fast_table import FastTable
from convcost.report.fit import Fitted, add_columns
from convcost.report.formats import SCHEMA_VERSION, to_csv, to_json, to_markdown

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
        return to_dict(self)

    def to_json(self) -> str:
        return to_json(self.to_dict())

    def __rich__(self) -> RenderableType:
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


def kind_label(op: object) -> str:
    if isinstance(op, Conv):
        k = op.kernel_label()
        if op.transposed:
            return f"convT {k}"
        return {
            ConvRole.DEPTHWISE: f"dw {k}",
            ConvRole.POINTWISE: f"pw {k}",
            ConvRole.GROUPED: f"gconv {k}",
            ConvRole.STANDARD: f"conv {k}",
        }[op.role]
    if isinstance(op, Linear):
        return "fc"
    if isinstance(op, FreeParameter):
        return "param"
    if isinstance(op, Activation):
        return str(op.function)
    if isinstance(op, BatchNorm):
        return "bn"
    if isinstance(op, Reduce):
        return f"reduce {op.function}"
    if isinstance(op, Upsample):
        return f"up {op.mode}"
    if isinstance(op, Recurrent):
        return op.cell.removesuffix("_tanh").removesuffix("_relu") + ("" if op.sequence
                                                                      else " cell")
    if isinstance(op, Pool | GlobalPool | AdaptivePool):
        prefix = {GlobalPool: "gpool", AdaptivePool: "apool"}.get(type(op), "pool")
        return f"{prefix} {op.mode}"
    kind = getattr(op, "kind", None)
    return str(kind) if kind is not None else type(op).__name__.lower()


def _per_dim(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))


def geometry(op: object) -> str:
    if isinstance(op, Conv):
        parts = [op.kernel_label()]
        if any(s != 1 for s in op.stride):
            parts.append("s" + _per_dim(op.stride))
        if any(d != 1 for d in op.dilation):
            parts.append("d" + _per_dim(op.dilation))
        if op.groups != 1:
            parts.append(f"g{op.groups}")
        return " ".join(parts)
    if isinstance(op, Upsample):
        return "×".join(map(str, op.size)) if op.size else "x" + "×".join(map(str, op.scale))
    if isinstance(op, Recurrent):
        return f"{op.input_size}→{op.hidden_size}" + (f"→{op.proj_size}" if op.proj_size else "")
    equation = getattr(op, "equation", None)
    if isinstance(equation, str):
        return equation
    kernel = getattr(op, "kernel", None)
    if isinstance(kernel, tuple):
        stride = getattr(op, "stride", kernel)
        return "×".join(map(str, kernel)) + (
            " s" + _per_dim(stride) if stride != (1,) * len(stride) else ""
        )
    return ""


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
            Line(row.name, kind_label(row.record.op),
                 row.record.inputs[0] if row.record.inputs else (),
                 row.cost.output_shape, geometry(row.record.op), row.cost,
                 _alt_dict(analysis, row), (row,))
            for row in analysis.rows
        ]
    out = []
    for block in collapse(analysis.rows, depth):
        if block.is_leaf:
            row = block.rows[0]
            out.append(Line(row.name, kind_label(row.record.op),
                            row.record.inputs[0] if row.record.inputs else (),
                            row.cost.output_shape, geometry(row.record.op), row.cost,
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


# ---------------------------------------------------------------- tables


def _bar(part: int, whole: int) -> str:
    if not whole or not part:
        return ""
    eighths = round(BAR_WIDTH * 8 * part / whole)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


def _pct_bar(part: int, whole: int) -> str:
    if not whole:
        return ""
    return f"{100 * part / whole:6.2f} {_bar(part, whole)}"


def _shape_io(line: Line) -> str:
    return f"{n.compact_shape(line.input_shape[1:])} → {n.compact_shape(line.output_shape[1:])}"


def _kind_cell(line: Line) -> str:
    """Kind with stride, dilation and groups (the kernel is in the kind already)."""
    extra = line.geometry.split(" ", 1)[1] if " " in line.geometry else ""
    if line.kind.startswith(("conv", "dw", "pw", "gconv", "convT")):
        return f"{line.kind} {extra}".strip()
    return f"{line.kind} {line.geometry}".strip()


_RULE_LABEL = {
    Rule.PAIR: "dw+pw", Rule.PAIR_LINEAR: "dw+fc", Rule.DENSE: "dense",
    Rule.SEPARATE: "k×k", Rule.SEPARATE_GROUPED: "grouped",
}
_NO_ALT = {"1×1": "— 1×1", "grouped 1×1": "— grouped 1×1", "transposed": "— transposed"}


def _alt_cell(line: Line) -> str:
    alt = line.alternative
    if alt is None:
        verdict = line.rows[0].verdict if len(line.rows) == 1 else None
        if verdict is None:
            return ""
        if verdict.rule is Rule.HALF:
            return "↑ pw half"
        return next((v for k, v in _NO_ALT.items() if verdict.note.startswith(k)), "—")
    if alt["kind"] == "alternative":
        return f"{n.human(alt['macs'])} ×{alt['ratio']:.2f}"
    label = "sep" if alt["kind"] == "separable" else "std"
    rule = _RULE_LABEL.get(Rule(alt["rule"]), "")
    if alt.get("moved"):
        rule = rule.replace("+", "+SE+")
    return f"{label} {n.human(alt['macs'])} ×{alt['ratio']:.2f} {rule}".rstrip()


def _ref_cell(report: ModelReport, tool: str, line: Line) -> str:
    ag = report.reference[tool].layers.get(line.name)
    if ag is None:
        return ""
    if ag.status == "differ":
        return f"✗ {n.human(ag.theirs)}"
    return ag.mark  # ✓ agrees; ≈ MACs agree and the reference adds other ops


class _FittedLayerTable:
    """The layer table, dropping its least needed columns when the console is too narrow.

    Widths are fitted from the representative rows only and the body is rendered by
    :class:`FastTable`, so a table of 100,000 layers prints in time linear in its rows.
    """

    DROP_ORDER = ("in → out", "alternative", "% MACs")

    def __init__(self, report: ModelReport) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        head, foot, rows = layer_cells(self.report)
        dropped: list[str] = []
        table = _layer_fast_table(self.report, head, foot, rows, ())
        for column in self.DROP_ORDER:
            unbounded = options.update(max_width=10_000)
            if Measurement.get(console, unbounded, table).minimum <= options.max_width:
                break
            dropped.append(column)
            table = _layer_fast_table(self.report, head, foot, rows, tuple(dropped))
        yield table
        if dropped:
            yield Text(f"(too narrow for: {', '.join(dropped)}; widen the terminal or set "
                       "COLUMNS)", style="dim")


def layer_cells(report: ModelReport) -> tuple[list[str], list[str], list[list[str]]]:
    """The layer table's header, footer and body cells, as text."""
    a = report.analysis
    total = a.totals.macs
    head = ["layer", "kind", "in → out", "params", "MACs", "% MACs",
            "alternative", *report.reference]
    foot = ["total", "", "", f"{a.totals.params:,}", f"{total:,}",
            "100.00" if total else "", ""]
    foot += [f"{n.human(ag.theirs)} {ag.mark}" for ag in
             (report.reference[t].total for t in report.reference)]
    rows = []
    for line in report.lines():
        cells = [line.name, _kind_cell(line), _shape_io(line),
                 f"{line.cost.params:,}", f"{line.cost.macs:,}",
                 _pct_bar(line.cost.macs, total), _alt_cell(line)]
        cells += [_ref_cell(report, tool, line) for tool in report.reference]
        rows.append(cells)
    return head, foot, rows


def _layer_fast_table(report: ModelReport, head: list[str], foot: list[str],
                      rows: list[list[str]], drop: tuple[str, ...]) -> FastTable:
    keep = [i for i, h in enumerate(head) if h not in drop]
    kept_head = [head[i] for i in keep]
    kept_foot = [foot[i] for i in keep]
    kept_rows = [[r[i] for i in keep] for r in rows] if drop else rows
    refs = tuple(report.reference)
    return FastTable(lambda some: _build_layer_table(kept_head, kept_foot, some, refs),
                     kept_rows)


def _build_layer_table(head: Sequence[str], foot: Sequence[str], rows: Sequence[Sequence[str]],
                       references: tuple[str, ...]) -> Table:
    """The Rich table of ``rows``; column widths follow the widest of ``rows``."""
    table = Table(header_style="bold", show_footer=True, footer_style="bold")
    for col, h in enumerate(head):
        # numbers never shrink; names and shapes fold onto a second line instead
        width = max([len(h), len(foot[col])] + [len(r[col]) for r in rows])
        numeric = h in ("params", "MACs") or h in references
        fixed = numeric or h in ("% MACs", "alternative", "in → out")
        table.add_column(
            h, footer=foot[col], justify="right" if numeric else "left",
            no_wrap=fixed, min_width=width if fixed else min(width, 10),
            overflow="fold",
        )
    for cells in rows:
        table.add_row(*cells)
    return table


def layer_table(report: ModelReport, drop: tuple[str, ...] = ()) -> Table:
    """The whole layer table as one Rich table (slow for big models: prefer ``to_table``)."""
    head, foot, rows = layer_cells(report)
    keep = [i for i, h in enumerate(head) if h not in drop]
    return _build_layer_table([head[i] for i in keep], [foot[i] for i in keep],
                              [[r[i] for i in keep] for r in rows], tuple(report.reference))


def breakdown_table(analysis: Analysis) -> RenderableType:
    """The paper's Table 2; a narrow console drops columns, never digits."""
    head = ("type", "MACs", "% MACs", "weights", "% weights", "params", "% params")
    rows = [[b.group, f"{b.macs:,}", n.pct(b.macs_pct), f"{b.weights:,}",
             n.pct(b.weights_pct), f"{b.params:,}", n.pct(b.params_pct)]
            for b in analysis.breakdown]

    def build(drop: tuple[str, ...]) -> Table:
        table = Table(title="Breakdown by layer type (the paper's Table 2)",
                      title_justify="left", header_style="bold")
        keep = [i for i, h in enumerate(head) if h not in drop]
        cells = [[r[i] for i in keep] for r in rows]
        add_columns(table, [head[i] for i in keep], cells, numeric=lambda h: h != "type")
        for r in cells:
            table.add_row(*r)
        return table

    return Fitted(build, ("% params", "params", "% weights"))


def variants_table(analysis: Analysis) -> RenderableType:
    """The whole model in each form; a narrow console drops columns, never digits."""
    written = analysis.variants[Variant.AS_WRITTEN]
    head = ("form", "MACs", "", "weights", "params", "MACs vs as written")
    labels = {
        Variant.AS_WRITTEN: "as written",
        Variant.STANDARD: "all standard (no depthwise convs)",
        Variant.SEPARABLE: "all separable (every k×k conv as dw + pw)",
    }
    rows = []
    for v, t in analysis.variants.items():
        ratio = t.macs / written.macs if written.macs else 0.0
        mark = " ◀" if v is analysis.rewritten_as else ""
        rows.append([labels[v] + mark, f"{t.macs:,}", n.human(t.macs), f"{t.weights:,}",
                     f"{t.params:,}", f"{ratio:.3f}×"])

    def build(drop: tuple[str, ...]) -> Table:
        table = Table(title="The whole model in each form", title_justify="left",
                      header_style="bold", caption="\n".join(tally_lines(analysis)) or None,
                      caption_justify="left")
        keep = [i for i, h in enumerate(head) if h not in drop]
        cells = [[r[i] for i in keep] for r in rows]
        add_columns(table, [head[i] for i in keep], cells, numeric=lambda h: h != "form")
        for r in cells:
            table.add_row(*r)
        return table

    return Fitted(build, ("", "params"))


def summary_lines(report: ModelReport) -> list[Text]:
    a = report.analysis
    t = a.totals
    lb = "≥ " if a.lower_bound else ""
    shapes = ", ".join(n.shape(s) for s in a.input_shapes)
    ran = a.extra.get("execution")
    lines = [
        Text(f"{a.name}: input {shapes}, {a.dtype}"
             + (f", rewritten as {a.rewritten_as}" if a.rewritten_as is not Variant.AS_WRITTEN
                else "")
             + (" · counted from one real run" if ran == "real" else ""), style="bold"),
        Text(
            f"{lb}{n.human(t.macs)} MACs ({lb}{t.macs:,}) · {lb}{n.human(t.flops)}FLOPs · "
            f"{n.human(t.params)} params ({t.params:,}) · {n.human(t.weights)} weights · "
            f"{lb}{n.human(t.other_ops)} other ops · {lb}{n.human_bytes(t.bytes)} moved"
            + (f" · {t.buffers:,} buffer elements" if t.buffers else "")
        ),
    ]
    if a.lower_bound:
        lines.append(Text(
            "Lower bound: these ops ran but were not costed: "
            + "; ".join(f"{u.op} ×{u.count} in {', '.join(u.modules[:3]) or '(top level)'}"
                        + ("…" if len(u.modules) > 3 else "")
                        for u in a.uncounted),
            style="yellow"))
    for tool, ag in report.reference.items():
        total = ag.total
        text = f"{total.mark} {tool}: {total.theirs:,}"
        text += f" — {total.reason}" if total.reason else " — agrees with our MACs"
        lines.append(Text(text))
        differing = [(name, x) for name, x in ag.layers.items() if x.status == "differ"]
        for name, x in differing[:10]:
            lines.append(Text(f"  ✗ {name}: {x.reason}", style="yellow"))
    lines += [Text(note, style="yellow") for note in report.notes]
    return lines


def to_table(report: ModelReport) -> RenderableType:
    a = report.analysis
    parts: list[RenderableType] = [
        *summary_lines(report)[:2],
        _FittedLayerTable(report),
        breakdown_table(a),
        variants_table(a),
        *summary_lines(report)[2:],
        Text(CONVENTION.short(), style="dim"),
    ]
    return Group(*parts)


# ---------------------------------------------------------------- CSV and Markdown


_CSV_HEAD = ["name", "kind", "input_shape", "output_shape", "geometry", "params", "weights",
             "macs", "flops", "other_ops", "bytes", "alternative_kind", "alternative_macs",
             "alternative_rule"]


def _x(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def to_csv_text(report: ModelReport) -> str:
    head = list(_CSV_HEAD) + [f"{tool}_macs" for tool in report.reference]
    rows = []
    for line in report.lines():
        alt = line.alternative or {}
        verdict = line.rows[0].verdict if len(line.rows) == 1 else None
        row: list[Any] = [line.name, line.kind, _x(line.input_shape), _x(line.output_shape),
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


def to_markdown_text(report: ModelReport) -> str:
    a = report.analysis
    total = a.totals.macs
    head = ["#", "layer", "kind", "in → out", "params", "MACs", "%", "alternative"]
    head += list(report.reference)
    rows: list[list[object]] = []
    for i, line in enumerate(report.lines()):
        row: list[object] = [
            i, line.name, _kind_cell(line), _shape_io(line), f"{line.cost.params:,}",
            f"{line.cost.macs:,}", f"{100 * line.cost.macs / total:.2f}" if total else "",
            _alt_cell(line),
        ]
        row += [_ref_cell(report, tool, line) for tool in report.reference]
        rows.append(row)
    total_row: list[object] = ["", "**total**", "", "", f"**{a.totals.params:,}**",
                               f"**{total:,}**", "100.00", ""]
    total_row += [f"{ag.count.total:,} {ag.total.mark}" for ag in report.reference.values()]
    rows.append(total_row)
    right = [h in ("#", "params", "MACs", "%") for h in head]
    parts = [f"### {a.name}\n", "\n".join(str(t) for t in summary_lines(report)[1:2]) + "\n",
             to_markdown(head, rows, align_right=right)]
    bd = [[b.group, f"{b.macs:,}", n.pct(b.macs_pct), f"{b.weights:,}", n.pct(b.weights_pct)]
          for b in a.breakdown]
    parts.append("\n**Breakdown by layer type**\n\n" + to_markdown(
        ["type", "MACs", "% MACs", "weights", "% weights"], bd,
        align_right=[False, True, True, True, True]))
    written = a.variants[Variant.AS_WRITTEN].macs
    vr = [[str(v), f"{t.macs:,}", f"{t.weights:,}", f"{t.params:,}",
           f"{t.macs / written:.3f}×" if written else ""] for v, t in a.variants.items()]
    parts.append("\n**Variants**\n\n" + to_markdown(
        ["form", "MACs", "weights", "params", "MACs vs as written"], vr,
        align_right=[False, True, True, True, True]))
    parts.append("".join(f"\n- {t}" for t in tally_lines(a)) + "\n")
    extra = [str(t) for t in summary_lines(report)[2:]]
    if extra:
        parts.append("\n" + "\n".join(f"- {x}" for x in extra) + "\n")
    parts.append(f"\n_{CONVENTION.footer()}_\n")
    return "".join(parts)
