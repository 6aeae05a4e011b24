"""An `analyze` report as a self-contained HTML page (``--export report.html``) or fragment
(a notebook's ``_repr_html_``): real tables with a small stylesheet, readable on a light page
with no terminal theme, no scripts and nothing fetched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

from convcost.core.analysis import Variant
from convcost.core.convention import CONVENTION
from convcost.report import numbers as n

if TYPE_CHECKING:
    from convcost.report.analysis import Line, ModelReport

STYLE = """
.convcost { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d232b; background: #fff; max-width: 1200px; margin: 0 auto; padding: 8px 16px; }
.convcost h1 { font-size: 1.5em; margin: .4em 0 .2em; }
.convcost h2 { font-size: 1.15em; margin: 1.4em 0 .4em; border-bottom: 1px solid #d8dee6;
  padding-bottom: .2em; }
.convcost dl.meta { display: grid; grid-template-columns: max-content auto; gap: .15em 1em;
  margin: .4em 0; }
.convcost dl.meta dt { color: #5a6572; }
.convcost dl.meta dd { margin: 0; }
.convcost .cards { display: flex; flex-wrap: wrap; gap: 8px; margin: .6em 0; }
.convcost .card { border: 1px solid #d8dee6; border-radius: 6px; padding: 6px 12px;
  min-width: 130px; background: #f7f9fb; }
.convcost .card .v { font-size: 1.2em; font-weight: 600; }
.convcost .card .x { color: #5a6572; font-size: .85em; font-variant-numeric: tabular-nums; }
.convcost table { border-collapse: collapse; margin: .3em 0 .8em; font-size: 13px; }
.convcost th, .convcost td { padding: 3px 8px; border-bottom: 1px solid #e6eaef;
  text-align: left; vertical-align: top; }
.convcost th { background: #eef2f6; position: sticky; top: 0; }
.convcost td.num, .convcost th.num { text-align: right; font-variant-numeric: tabular-nums;
  white-space: nowrap; }
.convcost tfoot td { font-weight: 600; border-top: 2px solid #b9c2cc; }
.convcost .track { display: inline-block; width: 120px; margin-left: 6px; text-align: left;
  vertical-align: middle; }
.convcost .bar { display: inline-block; height: 10px; background: #3b7dd8;
  vertical-align: middle; border-radius: 2px; }
.convcost .barcell { white-space: nowrap; min-width: 150px; }
.convcost .agree { color: #1a7f37; } .convcost .explained { color: #8a6d00; }
.convcost .differ { color: #c62828; font-weight: 600; }
.convcost .warn { background: #fff8e1; border-left: 4px solid #e0a800; padding: 6px 10px; }
.convcost footer { color: #5a6572; font-size: 12px; margin-top: 1.5em; }
"""


def _td(text: object, num: bool = False, cls: str = "") -> str:
    classes = " ".join(c for c in ("num" if num else "", cls) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{escape(str(text))}</td>"


def _table(head: Sequence[str], rows: Iterable[str], numeric: Sequence[bool],
           foot: str = "", cls: str = "") -> str:
    ths = "".join(f'<th{" class=num" if r else ""}>{escape(h)}</th>'
                  for h, r in zip(head, numeric, strict=True))
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    attr = f' class="{cls}"' if cls else ""
    return (f"<table{attr}><thead><tr>{ths}</tr></thead><tbody>{body}</tbody>"
            + (f"<tfoot><tr>{foot}</tr></tfoot>" if foot else "") + "</table>")


def _bar_cell(part: int, whole: int, largest: int) -> str:
    """The share of the whole, with a bar scaled so that the largest row is 120px long."""
    if not whole:
        return "<td></td>"
    share = 100 * part / whole
    width = 120 * part / largest if largest > 0 else 0.0
    return (f'<td class="barcell num">{share:.2f}%<span class="track"><span class="bar" '
            f'style="width:{width:.1f}px"></span></span></td>')


def _mark_cell(status: str, mark: str, text: str = "") -> str:
    return f'<td class="num {escape(status)}">{escape((text + " " + mark).strip())}</td>'


def _cards(report: ModelReport) -> str:
    t = report.totals
    lb = "≥ " if report.analysis.lower_bound else ""
    items = [("MACs", lb + n.human(t.macs), f"{t.macs:,}"),
             ("FLOPs", lb + n.human(t.flops), f"{t.flops:,}"),
             ("params", n.human(t.params), f"{t.params:,}"),
             ("weights", n.human(t.weights), f"{t.weights:,}"),
             ("other ops", lb + n.human(t.other_ops), f"{t.other_ops:,}"),
             ("bytes moved", lb + n.human_bytes(t.bytes), f"{t.bytes:,} B")]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div>{escape(k)}</div><div class="v">{escape(v)}</div>'
        f'<div class="x">{escape(x)}</div></div>' for k, v, x in items) + "</div>"


def _alt_cell(line: Line) -> str:
    alt = line.alternative
    if alt is None:
        return ""
    label = {"separable": "sep ", "standard": "std "}.get(alt["kind"], "")
    return f"{label}{alt['macs']:,} ×{alt['ratio']:.2f}"


def _shape_io(line: Line) -> str:
    return f"{n.compact_shape(line.input_shape[1:])} → {n.compact_shape(line.output_shape[1:])}"


def _layers(report: ModelReport) -> str:
    total = report.totals.macs
    largest = max((line.cost.macs for line in report.lines()), default=0)
    tools = list(report.reference)
    head = ["#", "layer", "kind", "in → out", "params", "MACs", "share of MACs",
            "alternative", *tools]
    numeric = [True, False, False, False, True, True, True, False] + [True] * len(tools)
    rows = []
    for i, line in enumerate(report.lines()):
        cells = [_td(i, True), _td(line.name), _td(line.kind_text), _td(_shape_io(line)),
                 _td(f"{line.cost.params:,}", True), _td(f"{line.cost.macs:,}", True),
                 _bar_cell(line.cost.macs, total, largest), _td(_alt_cell(line))]
        for tool in tools:
            ag = report.reference[tool].layers.get(line.name)
            cells.append("<td></td>" if ag is None else _mark_cell(
                str(ag.status), ag.mark, f"{ag.theirs:,}" if ag.status == "differ" else ""))
        rows.append("".join(cells))
    t = report.totals
    foot = (_td("") + _td("total") + _td("") + _td("") + _td(f"{t.params:,}", True)
            + _td(f"{t.macs:,}", True) + _td("100.00%", True) + _td(""))
    for tool in tools:
        ag = report.reference[tool].total
        foot += _mark_cell(str(ag.status), ag.mark, f"{ag.theirs:,}")
    return _table(head, rows, numeric, foot, cls="layers")


def _breakdown(report: ModelReport) -> str:
    largest = max((b.macs for b in report.analysis.breakdown), default=0)
    rows = [_td(b.group) + _td(f"{b.macs:,}", True)
            + _bar_cell(b.macs, report.totals.macs, largest)
            + _td(f"{b.weights:,}", True) + _td(n.pct(b.weights_pct), True)
            + _td(f"{b.params:,}", True) + _td(n.pct(b.params_pct), True)
            for b in report.analysis.breakdown]
    return _table(["type", "MACs", "% MACs", "weights", "% weights", "params", "% params"],
                  rows, [False] + [True] * 6)


def _variants(report: ModelReport) -> str:
    a = report.analysis
    written = a.variants[Variant.AS_WRITTEN].macs
    labels = {Variant.AS_WRITTEN: "as written",
              Variant.STANDARD: "standard (every dw + pw pair as one conv)",
              Variant.SEPARABLE: "separable (every k×k conv as dw + pw)"}
    rows = []
    for v, t in a.variants.items():
        mark = " ◀" if v is a.rewritten_as else ""
        rows.append(_td(labels[v] + mark) + _td(f"{t.macs:,}", True) + _td(n.human(t.macs), True)
                    + _td(f"{t.weights:,}", True) + _td(f"{t.params:,}", True)
                    + _td(f"{t.macs / written:.3f}×" if written else "", True))
    return _table(["form", "MACs", "", "weights", "params", "MACs vs as written"], rows,
                  [False] + [True] * 5)


def _reference(report: ModelReport) -> str:
    if not report.reference:
        return "<p>No reference count was asked for (see <code>--reference</code>).</p>"
    parts = []
    for tool, ag in report.reference.items():
        total = ag.total
        said = total.reason or "agrees with our MACs"
        parts.append(f'<p><span class="{escape(str(total.status))}">{escape(total.mark)}</span> '
                     f"<b>{escape(tool)}</b>: {total.theirs:,} — {escape(said)}</p>")
        differ = [(name, x) for name, x in ag.layers.items() if x.status == "differ"]
        if differ:
            parts.append("<ul>" + "".join(
                f'<li class="differ">{escape(name)}: {escape(x.reason)}</li>'
                for name, x in differ) + "</ul>")
        counts = {s: sum(x.status == s for x in ag.layers.values())
                  for s in ("agree", "explained", "differ")}
        parts.append(f"<p>Layers: {counts['agree']} agree, {counts['explained']} agree on MACs "
                     f"(the reference folds in other ops), {counts['differ']} differ.</p>")
    return "".join(parts)


def body(report: ModelReport) -> str:
    """The report as an HTML fragment inside ``<div class="convcost">``."""
    a = report.analysis
    shapes = ", ".join(n.shape(s) for s in a.input_shapes)
    meta = [("model", a.name), ("source", report.source or "(a Python object)"),
            ("input", f"{shapes}, {a.dtype}"), ("layers", f"{len(a.rows):,}"),
            ("convention", "MACs = multiply-adds of convolution, linear, matmul and attention; "
             "FLOPs = 2 × MACs; bias, normalisation, activation, pooling and adds are other "
             "ops (details at the end)")]
    if a.rewritten_as is not Variant.AS_WRITTEN:
        meta.append(("rewritten as", str(a.rewritten_as)))
    if report.depth is not None:
        meta.append(("depth", f"rows collapsed below depth {report.depth}"))
    parts = [f"<h1>convcost: {escape(a.name)}</h1>",
             '<dl class="meta">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>"
                                           for k, v in meta) + "</dl>",
             "<h2>Summary</h2>", _cards(report)]
    if a.lower_bound:
        ops = "; ".join(f"{u.op} ×{u.count}" for u in a.uncounted)
        parts.append(f'<p class="warn">Lower bound: these ops ran but were not costed: '
                     f"{escape(ops)}</p>")
    parts += [f'<p class="warn">{escape(x)}</p>' for x in report.notes]
    parts += ["<h2>Layers</h2>", _layers(report),
              "<h2>Breakdown by layer type (the paper's Table 2)</h2>", _breakdown(report),
              "<h2>The whole model in each form</h2>", _variants(report),
              "<h2>Reference agreement</h2>", _reference(report),
              f"<footer><b>Counting convention.</b> {escape(CONVENTION.footer())}</footer>"]
    return '<div class="convcost">' + "\n".join(parts) + "</div>"


def fragment(report: ModelReport) -> str:
    """For a notebook: the stylesheet (scoped to ``.convcost``) and the body."""
    return f"<style>{STYLE}</style>\n{body(report)}"


def page(report: ModelReport) -> str:
    """A complete, self-contained HTML document."""
    title = f"convcost: {report.analysis.name}"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>body {{ margin: 0; background: #fff; }}"
            f"{STYLE}</style>\n</head>\n<body>\n{body(report)}\n</body>\n</html>\n")
