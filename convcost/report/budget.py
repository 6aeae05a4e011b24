"""`convcost check`: a budget outcome as a Rich table, JSON, Markdown, JUnit XML or GitHub
workflow commands. Renderers return renderables or text; they never print.

Numbers are humanised (``568.74 M``) except where rounding could mislead: a row that warns or
fails, or whose value, limit and baseline would look equal rounded, shows exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from convcost.budget.check import (
    BaselineState,
    MetricResult,
    Outcome,
    Status,
    Violation,
)
from convcost.budget.policy import FailOn
from convcost.budget.spec import Where
from convcost.budget.units import Metric
from convcost.core.convention import CONVENTION
from convcost.report import numbers as n
from convcost.report.formats import SCHEMA_VERSION, to_json, to_markdown

MARK = {Status.PASS: "✓", Status.WARN: "▲", Status.FAIL: "✗"}
STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}
HEAD = ("check", "metric", "value", "limit", "baseline", "Δ", "Δ%", "headroom", "status")


# ---------------------------------------------------------------- cells


def _human(value: int, metric: Metric) -> str:
    text = n.human(value)
    if metric is Metric.BYTES:
        return text + ("B" if text[-1].isalpha() else " B")
    return text


def exact_row(m: MetricResult) -> bool:
    """Exact integers when the row is not a clean pass or rounding would make values equal."""
    if m.status is not Status.PASS:
        return True
    values = [v for v in (m.value, m.limit, m.baseline) if v is not None]
    humans = [_human(v, m.metric) for v in values]
    return any(h1 == h2 and v1 != v2 for i, (v1, h1) in enumerate(zip(values, humans, strict=True))
               for v2, h2 in list(zip(values, humans, strict=True))[i + 1:])


def _num(value: int | None, m: MetricResult, exact: bool, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    if exact or abs(value) < 1000:
        return f"{value:+,}" if signed and value else f"{value:,}"
    text = _human(abs(value), m.metric)
    return ("-" if value < 0 else "+" if signed else "") + text


def _pct(value: float | None, *, signed: bool = True) -> str:
    if value is None:
        return "—"
    if value != 0 and abs(value) < 0.01:
        return ("+" if value > 0 else "-") + "<0.01%" if signed else "<0.01%"
    return f"{value:+.2f}%" if signed and value else f"{value:.2f}%"


@dataclass(frozen=True)
class Cells:
    value: str
    limit: str
    baseline: str
    delta: str
    delta_pct: str
    headroom: str
    status: str


def cells(m: MetricResult) -> Cells:
    exact = exact_row(m)
    limit = _num(m.limit, m, exact)
    if m.limit is not None and m.increase is not None and m.increase_limit == m.limit:
        limit += f" ({m.increase.amount.text})"
    if m.baseline_state is BaselineState.MISSING:
        baseline = "missing"
    elif m.baseline_state is BaselineState.INCOMPATIBLE:
        baseline = "incompatible"
    else:
        baseline = _num(m.baseline, m, exact)
    if m.headroom is None:
        headroom = "—"
    elif m.headroom < 0:
        headroom = f"over by {-m.headroom:,}"
    else:
        headroom = f"{_num(m.headroom, m, exact)} ({_pct(m.headroom_pct, signed=False)})"
    return Cells(_num(m.value, m, exact), limit, baseline, _num(m.delta, m, exact, signed=True),
                 _pct(m.delta_pct), headroom, f"{MARK[m.status]} {m.status}")


def summary(outcome: Outcome, exit_code: int) -> str:
    c = outcome.counts()
    verdict = "failed" if exit_code else "passed"
    return (f"convcost check {verdict}: {c['checks']} checks, {c['metrics']} metrics — "
            f"{c['pass']} pass, {c['warn']} warn, {c['fail']} fail (exit {exit_code})")


def _notes(outcome: Outcome) -> list[str]:
    out = []
    for r in outcome.results:
        if r.measured.lower_bound:
            out.append(f"{r.check.name}: some ops of {r.check.model} were not costed; its "
                       "counts are lower bounds")
    if outcome.baseline_written:
        out.append(f"wrote baseline {outcome.baseline_path}")
    return out


# ---------------------------------------------------------------- table


def _rows(outcome: Outcome) -> list[tuple[list[str], Status]]:
    rows: list[tuple[list[str], Status]] = []
    for r in outcome.results:
        for i, m in enumerate(r.metrics):
            c = cells(m)
            rows.append(([r.check.name if i == 0 else "", str(m.metric), c.value, c.limit,
                          c.baseline, c.delta, c.delta_pct, c.headroom, c.status], m.status))
    return rows


def check_table(outcome: Outcome, drop: tuple[str, ...] = ()) -> Table:
    title = f"convcost check {outcome.budget.file or outcome.results[0].check.model}"
    rows = _rows(outcome)
    keep = [i for i, h in enumerate(HEAD) if h not in drop]
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE)
    for col in keep:
        head = HEAD[col]
        # numbers never shrink or elide; long check names fold instead
        width = max([len(head)] + [len(cells_[col]) for cells_, _ in rows])
        fixed = head != "check"
        table.add_column(head, justify="left" if head in ("check", "metric", "status")
                         else "right", no_wrap=fixed, overflow="fold",
                         min_width=width if fixed else min(width, 12))
    for cells_, status in rows:
        table.add_row(*[cells_[i] for i in keep[:-1]], Text(cells_[-1], style=STYLE[status]))
    return table


class _FittedCheckTable:
    """The check table, dropping its least needed columns when the console is too narrow."""

    DROP_ORDER = ("Δ", "baseline", "Δ%", "headroom")

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        dropped: list[str] = []
        table = check_table(self.outcome)
        for column in self.DROP_ORDER:
            unbounded = options.update(max_width=10_000)
            if Measurement.get(console, unbounded, table).minimum <= options.max_width:
                break
            dropped.append(column)
            table = check_table(self.outcome, tuple(dropped))
        yield table
        if dropped:
            yield Text(f"(too narrow for: {', '.join(dropped)}; widen the terminal, set COLUMNS "
                       "or use --format json)", style="dim")


def to_table(outcome: Outcome) -> RenderableType:
    """The table of every check and metric (fitted to the console)."""
    return _FittedCheckTable(outcome)


def message_lines(outcome: Outcome, exit_code: int) -> list[Text]:
    """What follows the table: failures, hints, notes, the verdict and the convention.

    Each is one line that should be printed unwrapped (``soft_wrap=True``) so that CI logs can
    be searched for it.
    """
    lines = [Text(f"{MARK[v.status]} {v.message}", style=STYLE[v.status])
             for v in outcome.violations]
    lines += [Text(f"hint: {h.message}", style="dim") for h in outcome.hints]
    lines += [Text(note, style="yellow") for note in _notes(outcome)]
    lines.append(Text(summary(outcome, exit_code), style="bold red" if exit_code else "bold"))
    lines.append(Text(CONVENTION.short(), style="dim"))
    return lines


def to_renderable(outcome: Outcome, exit_code: int) -> RenderableType:
    """Table and messages together (for notebooks and callers that wrap freely)."""
    return Group(to_table(outcome), *message_lines(outcome, exit_code))


# ---------------------------------------------------------------- JSON


def _where(where: Where | None) -> dict[str, Any] | None:
    if where is None:
        return None
    return {"file": where.file, "line": where.line, "col": where.col, "flag": where.flag,
            "text": str(where)}


def _violation(v: Violation) -> dict[str, Any]:
    metric = str(v.metric)
    return {"check": v.check, "metric": metric, "kind": str(v.kind),
            "status": str(v.status), "value": v.value, "limit": v.limit, "excess": v.excess,
            "where": _where(v.where), "message": v.message,
            "layers": [{"name": r.name, "change": str(r.change), "kind": r.kind,
                        "before": r.before(metric), "after": r.after(metric),
                        "delta": r.delta(metric), "delta_pct": r.pct(metric)}
                       for r in v.grown]}


def _metric_dict(m: MetricResult, failed: bool) -> dict[str, Any]:
    return {
        "metric": str(m.metric),
        "value": m.value,
        "status": str(m.status),
        "fails_run": failed,
        "max": m.maximum.amount.count() if m.maximum else None,
        "max_text": m.maximum.amount.text if m.maximum else None,
        "max_where": _where(m.maximum.where) if m.maximum else None,
        "max_increase": m.increase.amount.text if m.increase else None,
        "max_increase_where": _where(m.increase.where) if m.increase else None,
        "increase_limit": m.increase_limit,
        "limit": m.limit,
        "baseline": m.baseline,
        "baseline_state": str(m.baseline_state),
        "baseline_reason": m.baseline_reason or None,
        "delta": m.delta,
        "delta_pct": m.delta_pct,
        "headroom": m.headroom,
        "headroom_pct": m.headroom_pct,
        "violations": [v.message for v in m.violations],
    }


def to_dict(outcome: Outcome, fail_on: FailOn, exit_code: int, version: str) -> dict[str, Any]:
    checks = []
    for r in outcome.results:
        c = r.check
        checks.append({
            "name": c.name,
            "model": c.model,
            "source": c.source,
            "scope": c.scope,
            "level": str(c.level),
            "where": _where(c.where),
            "model_name": r.measured.model_name,
            "input_shape": [list(s) for s in r.measured.input_shapes],
            "lower_bound": r.measured.lower_bound,
            "rows": r.measured.rows,
            "status": str(r.status),
            "metrics": [_metric_dict(m, outcome.failed(fail_on, m)) for m in r.metrics],
        })
    return {
        "schema": SCHEMA_VERSION,
        "convcost": version,
        "convention": CONVENTION.to_dict(),
        "budget": outcome.budget.file,
        "baseline": {"path": outcome.baseline_path, "found": outcome.baseline_found,
                     "written": outcome.baseline_written},
        "fail_on": str(fail_on),
        "checks": checks,
        "violations": [_violation(v) for v in outcome.violations],
        "hints": [{"check": h.check, "metric": str(h.metric), "message": h.message,
                   "where": _where(h.where)} for h in outcome.hints],
        "notes": _notes(outcome),
        "summary": {**outcome.counts(), "exit_code": exit_code},
    }


def to_json_text(outcome: Outcome, fail_on: FailOn, exit_code: int, version: str) -> str:
    return to_json(to_dict(outcome, fail_on, exit_code, version))


# ---------------------------------------------------------------- Markdown


def to_markdown_text(outcome: Outcome, exit_code: int) -> str:
    c = outcome.counts()
    mark = "✗" if exit_code else ("▲" if c["warn"] else "✓")
    head = (f"### {mark} convcost check {'failed' if exit_code else 'passed'}: "
            f"{c['pass']} pass · {c['warn']} warn · {c['fail']} fail\n\n")
    rows: list[list[object]] = []
    for r in outcome.results:
        for i, m in enumerate(r.metrics):
            x = cells(m)
            status = f"**{x.status}**" if m.status is Status.FAIL else x.status
            rows.append([r.check.name if i == 0 else "", m.metric, x.value, x.limit, x.baseline,
                         x.delta, x.delta_pct, x.headroom, status])
    right = [h not in ("check", "metric", "status") for h in HEAD]
    parts = [head, to_markdown(list(HEAD), rows, align_right=right)]
    if outcome.violations:
        parts.append("\n**What to change**\n\n" + "".join(
            f"- {MARK[v.status]} {_md_where(v.message, v.where)}\n" for v in outcome.violations))
    for v in outcome.violations:
        if v.grown:
            metric = str(v.metric)
            grown = [[f"`{r.name}`", str(r.change), f"{r.before(metric):,}",
                      f"{r.after(metric):,}", f"{r.delta(metric):+,}",
                      _pct(r.pct(metric)) if r.pct(metric) is not None else "new"]
                     for r in v.grown]
            parts.append(f"\n**{v.check}: the layers whose {metric} grew most**\n\n"
                         + to_markdown(["layer", "change", "baseline", "now", "Δ", "Δ%"], grown,
                                       align_right=[False, False, True, True, True, True]))
    if outcome.hints:
        parts.append("\n**Hints**\n\n" + "".join(
            f"- {_md_where(h.message, h.where)}\n" for h in outcome.hints))
    notes = _notes(outcome)
    if notes:
        parts.append("\n" + "".join(f"- {x}\n" for x in notes))
    parts.append(f"\n<sub>{summary(outcome, exit_code)}. {CONVENTION.footer()}</sub>\n")
    return "".join(parts)


def _md_where(message: str, where: Where | None) -> str:
    if where is None:
        return message
    text = str(where)
    return message.replace(f" {text}", f" `{text}`", 1)
