"""`convcost diff`: what changed between two models, as a table, JSON or Markdown.

Renderers return renderables or text; they never print. Numbers are exact integers (a diff is
about small changes that rounding would hide).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convcost.budget.layer_diff import SHOWN, Change, Diff, DiffRow
from convcost.core.convention import CONVENTION
from convcost.report.formats import SCHEMA_VERSION, to_json, to_markdown

LABEL = {"macs": "MACs", "params": "params", "bytes": "bytes"}
MARKDOWN_ROWS = 100
"""Changed layers listed in Markdown (a PR comment has a size limit); the rest are counted."""


@dataclass(frozen=True)
class Side:
    """One side of a diff: what was read, and how."""

    label: str
    """As given (``net.py:Net@HEAD~1``, ``.convcost/baseline.json#mobilenet``)."""
    model: str
    input_shapes: tuple[tuple[int, ...], ...] = ()
    per_layer: bool = True


@dataclass(frozen=True)
class DiffReport:
    diff: Diff
    a: Side
    b: Side
    notes: tuple[str, ...] = ()


def signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


def pct(value: float | None) -> str:
    if value is None:
        return "new"
    if value != 0 and abs(value) < 0.01:
        return ("+" if value > 0 else "-") + "<0.01%"
    return f"{value:+.2f}%" if value else "0.00%"


def _row_pct(row: DiffRow, metric: str) -> str:
    if row.change is Change.REMOVED:
        return "-100.00%"
    if row.before(metric) == 0 and row.delta(metric) == 0:
        return ""
    return pct(row.pct(metric))


# ---------------------------------------------------------------- table


def totals_table(report: DiffReport) -> Table:
    d = report.diff
    table = Table(title="Totals", title_justify="left", header_style="bold")
    for h in ("metric", report.a.label, report.b.label, "Δ", "Δ%"):
        table.add_column(h, justify="left" if h == "metric" else "right", no_wrap=h != "metric",
                         overflow="fold")
    for m in SHOWN:
        table.add_row(LABEL[m], f"{d.totals_before[m]:,}", f"{d.totals_after[m]:,}",
                      signed(d.delta(m)), pct(d.pct(m)) if d.totals_before[m] else "")
    return table


HEAD = ("layer", "change", "kind", "Δ MACs", "MACs %", "Δ params", "params %", "Δ bytes",
        "bytes %")
DROP_ORDER = ("kind", "bytes %", "Δ bytes", "params %", "MACs %")


def layer_table(report: DiffReport, drop: tuple[str, ...] = ()) -> Table:
    table = Table(title=f"Changed layers ({len(report.diff.rows)}; "
                  f"{report.diff.unchanged} unchanged), largest change first",
                  title_justify="left", header_style="bold")
    keep = [h for h in HEAD if h not in drop]
    rows = [_cells(r) for r in report.diff.rows]
    for h in keep:
        i = HEAD.index(h)
        numeric = h.startswith("Δ") or h.endswith("%")
        width = max([len(h)] + [len(r[i]) for r in rows])
        table.add_column(h, justify="right" if numeric else "left", no_wrap=numeric,
                         min_width=width if numeric else min(width, 12), overflow="fold")
    for r in rows:
        table.add_row(*[r[HEAD.index(h)] for h in keep])
    return table


def _cells(r: DiffRow) -> list[str]:
    out = [r.name, str(r.change), r.kind]
    for m in SHOWN:
        out += [signed(r.delta(m)), _row_pct(r, m)]
    return out


class _FittedDiffTable:
    def __init__(self, report: DiffReport) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        dropped: list[str] = []
        table = layer_table(self.report)
        for column in DROP_ORDER:
            unbounded = options.update(max_width=10_000)
            if Measurement.get(console, unbounded, table).minimum <= options.max_width:
                break
            dropped.append(column)
            table = layer_table(self.report, tuple(dropped))
        yield table
        if dropped:
            yield Text(f"(too narrow for: {', '.join(dropped)}; widen the terminal, set COLUMNS "
                       "or use --format json)", style="dim")


def verdict(report: DiffReport) -> str:
    d = report.diff
    parts = [f"{LABEL[m]} {signed(d.delta(m))} ({pct(d.pct(m))})" for m in SHOWN
             if d.totals_before[m]]
    counts = {c: sum(r.change is c for r in d.rows) for c in Change if c is not Change.UNCHANGED}
    layers = ", ".join(f"{n} {c}" for c, n in counts.items() if n) or "no layer changed"
    return f"{report.a.label} → {report.b.label}: " + ", ".join(parts) + f"; {layers}"


def to_table(report: DiffReport) -> RenderableType:
    parts: list[RenderableType] = [Text(verdict(report), style="bold"), totals_table(report)]
    if report.diff.rows:
        parts.append(_FittedDiffTable(report))
    parts += [Text(note, style="yellow") for note in report.notes]
    parts.append(Text(CONVENTION.short(), style="dim"))
    return Group(*parts)


# ---------------------------------------------------------------- JSON


def _side(side: Side, totals: dict[str, int]) -> dict[str, Any]:
    return {"label": side.label, "model": side.model,
            "input_shape": [list(s) for s in side.input_shapes], "per_layer": side.per_layer,
            "totals": dict(totals)}


def to_dict(report: DiffReport, version: str) -> dict[str, Any]:
    d = report.diff
    return {
        "schema": SCHEMA_VERSION,
        "convcost": version,
        "convention": CONVENTION.to_dict(),
        "a": _side(report.a, d.totals_before),
        "b": _side(report.b, d.totals_after),
        "totals": {m: {"a": d.totals_before[m], "b": d.totals_after[m], "delta": d.delta(m),
                       "delta_pct": d.pct(m)} for m in d.totals_before},
        "increased": d.increased,
        "unchanged": d.unchanged,
        "layers": [
            {"name": r.name, "a": r.a.name if r.a else None, "b": r.b.name if r.b else None,
             "change": str(r.change), "kind": r.kind,
             **{m: {"a": r.before(m), "b": r.after(m), "delta": r.delta(m),
                    "delta_pct": r.pct(m)} for m in SHOWN}}
            for r in d.rows
        ],
        "notes": list(report.notes),
    }


def to_json_text(report: DiffReport, version: str) -> str:
    return to_json(to_dict(report, version))


# ---------------------------------------------------------------- Markdown


def to_markdown_text(report: DiffReport) -> str:
    d = report.diff
    up = d.increased
    mark = "▲" if up else "✓"
    parts = [f"### {mark} convcost diff: `{report.a.label}` → `{report.b.label}`\n\n",
             verdict(report).split(": ", 1)[1] + "\n\n"]
    totals = [[LABEL[m], f"{d.totals_before[m]:,}", f"{d.totals_after[m]:,}",
               signed(d.delta(m)), pct(d.pct(m)) if d.totals_before[m] else ""] for m in SHOWN]
    parts.append(to_markdown(["metric", "before", "after", "Δ", "Δ%"], totals,
                             align_right=[False, True, True, True, True]))
    if d.rows:
        rows = [_cells(r) for r in d.rows[:MARKDOWN_ROWS]]
        rows = [[f"`{r[0]}`", *r[1:]] for r in rows]
        parts.append(f"\n**Changed layers** ({len(d.rows)}; {d.unchanged} unchanged), largest "
                     "change first\n\n")
        parts.append(to_markdown(list(HEAD), rows,
                                 align_right=[h.startswith("Δ") or h.endswith("%")
                                              for h in HEAD]))
        if len(d.rows) > MARKDOWN_ROWS:
            parts.append(f"\n… and {len(d.rows) - MARKDOWN_ROWS} more (see --format json)\n")
    parts += [f"\n- {note}" for note in report.notes]
    parts.append(f"\n<sub>{CONVENTION.footer()}</sub>\n")
    return "".join(parts)
