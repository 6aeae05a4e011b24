"""Tables that fit the console by dropping their least needed columns, never by cutting
digits: numeric columns keep their full width; text columns fold onto a second line."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Build = Callable[[tuple[str, ...]], Table]
"""Builds the table without the named columns."""


class Fitted:
    """Renders ``build(())``; while its minimum width exceeds the console, drops the next
    column of ``drop_order`` and says which were dropped."""

    def __init__(self, build: Build, drop_order: Sequence[str],
                 advice: str = "widen the terminal, set COLUMNS or use --format json") -> None:
        self.build = build
        self.drop_order = tuple(drop_order)
        self.advice = advice

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        dropped: list[str] = []
        table = self.build(())
        for column in self.drop_order:
            unbounded = options.update(max_width=10_000)
            if Measurement.get(console, unbounded, table).minimum <= options.max_width:
                break
            dropped.append(column)
            table = self.build(tuple(dropped))
        yield table
        if dropped:
            yield Text(f"(too narrow for: {', '.join(dropped)}; {self.advice})", style="dim")


def add_columns(table: Table, head: Sequence[str], rows: Sequence[Sequence[str]],
                numeric: Callable[[str], bool], footer: Sequence[str] | None = None) -> None:
    """Numeric columns: right-aligned, never wrapped, as wide as their widest cell. Text
    columns: left-aligned, folding when space runs out."""
    for i, h in enumerate(head):
        cells = [str(r[i]) for r in rows] + ([str(footer[i])] if footer else [])
        width = max([len(h), *(len(c) for c in cells)])
        if numeric(h):
            table.add_column(h, justify="right", no_wrap=True, min_width=width,
                             footer=footer[i] if footer else "")
        else:
            table.add_column(h, justify="left", overflow="fold", min_width=min(width, 10),
                             footer=footer[i] if footer else "")
