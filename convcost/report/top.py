"""`convcost analyze --top N`: the N costliest layers (or collapsed blocks) and their share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost._compat import StrEnum
from convcost.core.convention import CONVENTION
from convcost.report.analysis import Line, ModelReport
from convcost.report.formats import to_csv, to_markdown

if TYPE_CHECKING:
    from rich.console import RenderableType

BAR = 10


class SortBy(StrEnum):
    MACS = "macs"
    PARAMS = "params"
    BYTES = "bytes"


LABEL = {SortBy.MACS: "MACs", SortBy.PARAMS: "params", SortBy.BYTES: "bytes"}


@dataclass(frozen=True)
class Hot:
    rank: int
    line: Line
    value: int
    share: float
    cumulative: float


def hotspots(report: ModelReport, n: int, by: SortBy) -> list[Hot]:
    """The ``n`` lines (layers, or blocks with a depth) with the largest ``by``; ties keep
    model order. Shares are of the model's total."""
    lines = report.lines()
    total = sum(int(getattr(line.cost, by.value)) for line in lines)
    ranked = sorted(enumerate(lines), key=lambda x: (-int(getattr(x[1].cost, by.value)), x[0]))
    out, running = [], 0
    for rank, (_, line) in enumerate(ranked[:n], start=1):
        value = int(getattr(line.cost, by.value))
        running += value
        out.append(Hot(rank, line, value, 100 * value / total if total else 0.0,
                       100 * running / total if total else 0.0))
    return out


def _bar(share: float) -> str:
    eighths = round(BAR * 8 * share / 100)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[rest - 1] if rest else "")


def _total(report: ModelReport, by: SortBy) -> int:
    return sum(int(getattr(line.cost, by.value)) for line in report.lines())


HEAD = ("#", "layer", "kind", "value", "share", "cumulative", "")


def _rows(hot: list[Hot]) -> list[list[str]]:
    return [[str(h.rank), h.line.name, h.line.kind, f"{h.value:,}", f"{h.share:.2f}%",
             f"{h.cumulative:.2f}%", _bar(h.share)] for h in hot]


def to_table(report: ModelReport, n: int, by: SortBy) -> RenderableType:
    from rich.console import Group  # the table's machinery only when a table is asked for
    from rich.text import Text

    from convcost.report.analysis_table import summary_lines
    from convcost.report.fit import fitted_table

    hot = hotspots(report, n, by)
    head = [*HEAD]
    head[3] = LABEL[by]
    rows = _rows(hot)
    what = "blocks" if report.depth is not None else "layers"

    covered = hot[-1].cumulative if hot else 0.0
    parts: list[RenderableType] = [
        *summary_lines(report)[:2],
        fitted_table(f"The {len(hot)} costliest {what} by {LABEL[by]}", head, rows,
                     ("", "kind", "cumulative"), text=("layer", "kind", "")),
        Text(f"these {len(hot)} of {len(report.lines())} {what}: {covered:.2f}% of "
             f"{_total(report, by):,} {LABEL[by]}"),
        Text(CONVENTION.short(), style="dim"),
    ]
    return Group(*parts)


def to_dict(report: ModelReport, n: int, by: SortBy) -> dict[str, Any]:
    return {"sort": str(by), "n": n, "total": _total(report, by),
            "layers": [{"rank": h.rank, "name": h.line.name, "kind": h.line.kind,
                        "value": h.value, "macs": h.line.cost.macs,
                        "params": h.line.cost.params, "bytes": h.line.cost.bytes,
                        "share_pct": h.share, "cumulative_pct": h.cumulative}
                       for h in hotspots(report, n, by)]}


def to_markdown_text(report: ModelReport, n: int, by: SortBy) -> str:
    hot = hotspots(report, n, by)
    head = [*HEAD[:-1]]
    head[3] = LABEL[by]
    rows = [r[:-1] for r in _rows(hot)]
    rows = [[r[0], f"`{r[1]}`", *r[2:]] for r in rows]
    return (f"### {report.analysis.name}: the {len(hot)} costliest by {LABEL[by]}\n\n"
            + to_markdown(head, rows, align_right=[True, False, False, True, True, True])
            + f"\n_{CONVENTION.footer()}_\n")


def to_csv_text(report: ModelReport, n: int, by: SortBy) -> str:
    return to_csv(["rank", "name", "kind", by.value, "share_pct", "cumulative_pct"],
                  [[h.rank, h.line.name, h.line.kind, h.value, f"{h.share:.4f}",
                    f"{h.cumulative:.4f}"] for h in hotspots(report, n, by)])
