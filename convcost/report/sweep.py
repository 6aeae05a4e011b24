"""`convcost sweep`: MACs and params over a width-multiplier × resolution grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convcost.core.convention import CONVENTION
from convcost.core.sweep import SweepPoint
from convcost.report.formats import SCHEMA_VERSION, to_csv, to_markdown


def _axes(points: Sequence[SweepPoint]) -> tuple[list[float], list[int]]:
    alphas = list(dict.fromkeys(p.width_mult for p in points))
    resolutions = list(dict.fromkeys(p.resolution for p in points))
    return alphas, resolutions


def _grid(points: Sequence[SweepPoint], metric: str) -> list[list[str]]:
    alphas, resolutions = _axes(points)
    at = {(p.width_mult, p.resolution): p for p in points}
    return [
        [f"α = {a:g}"] + [f"{getattr(at[a, r], metric) / 1e6:,.{1 if metric == 'macs' else 2}f}"
                          for r in resolutions]
        for a in alphas
    ]


def to_dict(model: str, points: Sequence[SweepPoint]) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "model": model,
        "convention": CONVENTION.to_dict(),
        "grid": [
            {"width_mult": p.width_mult, "resolution": p.resolution, "macs": p.macs,
             "flops": p.flops, "params": p.params, "weights": p.weights}
            for p in points
        ],
    }


def to_table(model: str, points: Sequence[SweepPoint]) -> RenderableType:
    _, resolutions = _axes(points)
    parts: list[RenderableType] = [Text(f"{model}: width multiplier × resolution", style="bold")]
    for metric, title in (("macs", "Million mult-adds"), ("weights", "Million weights"),
                          ("params", "Million params")):
        table = Table(title=title, title_justify="left", header_style="bold")
        table.add_column("")
        for r in resolutions:
            table.add_column(str(r), justify="right")
        for row in _grid(points, metric):
            table.add_row(*row)
        parts.append(table)
    parts.append(Text(CONVENTION.short(), style="dim"))
    return Group(*parts)


def to_csv_text(points: Sequence[SweepPoint]) -> str:
    return to_csv(
        ["width_mult", "resolution", "macs", "flops", "params", "weights"],
        [[p.width_mult, p.resolution, p.macs, p.flops, p.params, p.weights] for p in points],
    )


def to_markdown_text(model: str, points: Sequence[SweepPoint]) -> str:
    _, resolutions = _axes(points)
    head = ["", *map(str, resolutions)]
    right = [False] + [True] * len(resolutions)
    out = [f"### {model}: width multiplier × resolution\n"]
    for metric, title in (("macs", "Million mult-adds"), ("weights", "Million weights"),
                          ("params", "Million params")):
        out.append(f"\n**{title}**\n\n" + to_markdown(head, _grid(points, metric),
                                                      align_right=right))
    out.append(f"\n_{CONVENTION.footer()}_\n")
    return "".join(out)

