"""Tables that fit the console by dropping their least needed columns, never by cutting
digits: numeric columns keep their full width; text columns fold onto a second line."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

Build = Callable[[tuple[str, ...]], RenderableType]
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


def fitted_table(title: str, head: Sequence[str], rows: Sequence[Sequence[str]],
                 drop_order: Sequence[str], *, text: Sequence[str],
                 footer: Sequence[str] | None = None,
                 end_section: Sequence[bool] | None = None, **table: Any) -> Fitted:
    """A titled table of string cells that fits the console (:class:`Fitted`): the columns
    named in ``text`` fold, the others are numbers kept whole; ``end_section`` marks the rows
    a rule follows; further keyword arguments go to Rich's ``Table``."""
    text_columns = frozenset(text)

    def build(drop: tuple[str, ...]) -> Table:
        keep = [i for i, h in enumerate(head) if h not in drop]
        out = Table(title=title, title_justify="left", header_style="bold", **table)
        cells = [[r[i] for i in keep] for r in rows]
        add_columns(out, [head[i] for i in keep], cells,
                    numeric=lambda h: h not in text_columns,
                    footer=[footer[i] for i in keep] if footer else None)
        for n, r in enumerate(cells):
            out.add_row(*r, end_section=bool(end_section and end_section[n]))
        return out

    return Fitted(build, drop_order)
