"""`convcost analyze` as tables: Rich renderables (the layer table fitted to the console, the
breakdown by layer type, the variants, the summary lines) and Markdown. Never prints."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcost.core.analysis import Analysis, Rule, Variant
from convcost.core.convention import CONVENTION
from convcost.report import numbers as n
from convcost.report.analysis import BAR_WIDTH, Line, ModelReport, tally_lines
from convcost.report.fast_table import FastTable
from convcost.report.fit import Fitted, fitted_table
from convcost.report.formats import to_markdown


def _bar(part: int, whole: int) -> str:
    if not whole or not part:
        return ""
    eighths = round(BAR_WIDTH * 8 * part / whole)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


@functools.lru_cache(maxsize=4096)  # cells repeat as a network repeats its blocks
def _pct_bar(part: int, whole: int) -> str:
    if not whole:
        return ""
    return f"{100 * part / whole:6.2f} {_bar(part, whole)}"


def _shape_io(line: Line) -> str:
    return _shapes_text(line.input_shape, line.output_shape)


@functools.lru_cache(maxsize=4096)
def _shapes_text(inputs: tuple[int, ...], output: tuple[int, ...]) -> str:
    return f"{n.compact_shape(inputs[1:])} → {n.compact_shape(output[1:])}"


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


LAYER_DROP_ORDER = ("in → out", "alternative", "% MACs")
"""The layer table's least needed columns, dropped in this order when the console is narrow."""


def fitted_layer_table(report: ModelReport) -> Fitted:
    """The layer table, dropping its least needed columns when the console is too narrow.

    Widths are fitted from the representative rows only and the body is rendered by
    :class:`FastTable`, so a table of 100,000 layers prints in time linear in its rows.
    """
    cells = functools.cache(lambda: layer_cells(report))
    return Fitted(lambda dropped: _layer_fast_table(report, *cells(), dropped), LAYER_DROP_ORDER,
                  advice="widen the terminal or set COLUMNS")


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
        cells = [line.name, line.kind_text, _shape_io(line),
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

    return fitted_table("Breakdown by layer type (the paper's Table 2)", head, rows,
                        ("% params", "params", "% weights"), text=("type",))


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

    return fitted_table("The whole model in each form", head, rows, ("", "params"),
                        text=("form",), caption="\n".join(tally_lines(analysis)) or None,
                        caption_justify="left")


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
        fitted_layer_table(report),
        breakdown_table(a),
        variants_table(a),
        *summary_lines(report)[2:],
        Text(CONVENTION.short(), style="dim"),
    ]
    return Group(*parts)


def to_markdown_text(report: ModelReport) -> str:
    a = report.analysis
    total = a.totals.macs
    head = ["#", "layer", "kind", "in → out", "params", "MACs", "%", "alternative"]
    head += list(report.reference)
    rows: list[list[object]] = []
    for i, line in enumerate(report.lines()):
        row: list[object] = [
            i, line.name, line.kind_text, _shape_io(line), f"{line.cost.params:,}",
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
