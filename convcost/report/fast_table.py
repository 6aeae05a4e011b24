"""A Rich table that renders in time linear in its rows, and looks exactly like one.

Rich's :class:`~rich.table.Table` measures every cell (to fit the columns) and then renders
every cell through its full layout machinery: about a millisecond a row, most of a 10,000-layer
report. :class:`FastTable` prints the same characters with the same styles:

* the column widths come from Rich's own algorithm run on a *representative* table: the
  header, the footer, and for every column the row with its widest cell, the row with its
  longest word and the row with its longest string (plus any row Rich would not print as
  plain text). A column's measurement is the maximum of its cells' (longest word, widest line)
  pairs, so these rows give exactly the widths of the whole table;
* the frame (top edge, header, separators, footer, bottom edge) is rendered by Rich itself,
  with the columns fixed at those widths;
* a body row whose cells are plain text that fits its column is written directly, as Rich
  would write it (one space of padding each side, left- or right-justified, the box's
  vertical lines); any other row -- text that wraps, markup, emoji codes, control characters
  -- is laid out by Rich's own cell renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import cast

from rich._pick import pick_bool
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Table

Cells = Sequence[str]
Build = Callable[[Sequence[Cells]], Table]
"""Makes the table (columns, header, footer; no style on rows) holding the given rows."""

_SPECIAL = frozenset("[:\t\r\n\x1b")
"""Characters that make Rich's rendering of a string differ from the string itself: markup
tags, emoji codes, tabs and control codes."""


def is_plain(text: str) -> bool:
    """True when Rich prints ``text`` as it is (no markup, emoji code or control character)."""
    return text.isprintable() and not _SPECIAL.intersection(text)


def width(text: str) -> int:
    """Cells taken by a plain string (one a character for ASCII)."""
    return len(text) if text.isascii() else cell_len(text)


def measure(text: str) -> tuple[int, int]:
    """Rich's measurement of a plain string: (longest word, widest line), in cells."""
    widest = width(text)  # a plain string is one line
    if " " not in text and text.isascii():
        return widest, widest
    words = text.split()
    return (max(width(w) for w in words) if words else widest), widest


def representative(rows: Sequence[Cells]) -> list[int]:
    """Indices of the rows whose cells decide every column's measurement (see module doc).

    Each column is read once for its distinct strings (a network repeats its kinds, shapes
    and counts); the first row holding the chosen string is picked, as a scan of every row
    would pick it."""
    if not rows:
        return []
    picked: set[int] = set()
    for col in range(len(rows[0])):
        texts = [row[col] for row in rows]
        distinct = dict.fromkeys(texts)  # in order of first appearance
        joined = "".join(distinct)
        odd = frozenset() if is_plain(joined) else frozenset(
            text for text in distinct if not is_plain(text))
        if not odd and joined.isascii() and " " not in joined:
            # one word of one cell a character each: longest == widest == most cells
            longest: str | None = max(distinct, key=len)
            chosen = [longest, longest, longest]
        else:
            best_len: tuple[int, str | None] = (-1, None)  # builders may size columns by len()
            best_min: tuple[int, str | None] = (-1, None)
            best_max: tuple[int, str | None] = (-1, None)
            for text in distinct:
                if len(text) > best_len[0]:
                    best_len = (len(text), text)
                if text in odd:
                    continue
                lo, hi = measure(text)
                if lo > best_min[0]:
                    best_min = (lo, text)
                if hi > best_max[0]:
                    best_max = (hi, text)
            chosen = [best_len[1], best_min[1], best_max[1]]
        picked.update(0 if text is None else texts.index(text) for text in chosen)
        if odd:
            picked.update(i for i, text in enumerate(texts) if text in odd)
    return sorted(picked)


def _padded(texts: list[str], space: int, right: bool) -> list[str | None]:
    """Each plain cell padded to ``space`` cells as Rich justifies it; None where Rich would
    print something else (markup, control characters, a cell that does not fit, a
    right-justified cell with trailing spaces, which Rich strips)."""
    done: dict[str, str | None] = {}
    for text in dict.fromkeys(texts):  # a network repeats its kinds, shapes and counts
        gap = space - width(text)
        if gap < 0 or not is_plain(text) or (right and text.endswith(" ")):
            done[text] = None
        else:
            done[text] = " " * gap + text if right else text + " " * gap
    return [done[text] for text in texts]


def _sized_segment(cells: int) -> Callable[[str], Segment]:
    """Segments of text ``cells`` wide: Rich reads their width instead of measuring every
    character of every row again when it crops the lines to the console."""

    class Sized(Segment):
        __slots__ = ()

        @property
        def cell_length(self) -> int:
            return 0 if self.control else cells

    return Sized


class FastTable:
    """``build(rows)``, rendered linearly in the number of rows (see the module doc)."""

    def __init__(self, build: Build, rows: Sequence[Cells]) -> None:
        self.build = build
        self.rows = rows
        self._sample: list[int] | None = None

    def sample_table(self) -> Table:
        """The table holding only the representative rows: same measurement, same widths."""
        if self._sample is None:
            self._sample = representative(self.rows)
        return self.build([self.rows[i] for i in self._sample])

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.sample_table())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        sample = self.sample_table()
        styled = console.get_style(sample.style or "") + console.get_style(
            sample.border_style or "")
        if styled or sample.row_styles or sample.show_lines or sample.leading or \
                sample.title or sample.caption or not sample.show_header or \
                not sample.show_edge or sample.box is None or \
                any(console.get_style(c.style or "") or c.vertical != "top"
                    for c in sample.columns):
            yield self.build(self.rows)  # a layout this fast path does not cover
            return
        max_width = options.max_width if sample.width is None else sample.width
        widths = sample._calculate_column_widths(
            console, options.update_width(max_width - sample._extra_width))
        if sum(widths) > max_width - sample._extra_width or any(
                w <= sample._get_padding_width(c._index)
                for w, c in zip(widths, sample.columns, strict=True)):
            yield self.build(self.rows)  # cannot fit even folded: Rich crops it its own way
            return
        yield from self._render(console, options, widths)

    def _fixed(self, widths: Sequence[int], *, footer: bool) -> Table:
        table = self.build([])
        table.show_footer = table.show_footer and footer
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width - table._get_padding_width(column._index)
        return table

    def _render(self, console: Console, options: ConsoleOptions,
                widths: list[int]) -> Iterator[Segment]:
        head = console.render_lines(self._fixed(widths, footer=False), options, pad=False)
        frame = console.render_lines(self._fixed(widths, footer=True), options, pad=False)
        top = len(head) - 1  # the header-only table ends with its bottom edge
        new_line = Segment.line()
        for line in frame[:top]:
            yield from line
            yield new_line
        yield from self._body(console, options, widths)
        for line in frame[top:]:
            yield from line
            yield new_line

    def _body(self, console: Console, options: ConsoleOptions,
              widths: list[int]) -> Iterator[Segment]:
        template = self.build([])
        box = template.box
        assert box is not None
        box = box.substitute(options, safe=pick_bool(template.safe_box, console.safe_box))
        left, right, divider = box.mid_left, box.mid_right, box.mid_vertical
        columns = template.columns
        pads = [template._get_padding_width(c._index) for c in columns]
        simple = all(c.justify in ("left", "right", "default") for c in columns) and \
            all(p == 2 for p in pads)
        new_line = Segment.line()
        row_options = options.update(width=sum(widths) + template._extra_width,
                                     highlight=template.highlight, height=None)
        rich_row = (left, right, divider)
        if not simple:
            for row in self.rows:
                yield from self._rich_row(console, row_options, widths, row, columns, rich_row)
                yield new_line
            return
        # Every column padded at once; None marks a cell Rich must lay out (its whole row).
        padded = [_padded([row[i] for row in self.rows], width - 2, column.justify == "right")
                  for i, (width, column) in enumerate(zip(widths, columns, strict=True))]
        cells = zip(*padded, strict=True) if padded else iter([()] * len(self.rows))
        # A recording console (SVG/HTML export) gets Rich's own segments, one per border,
        # padding and text; any other console one segment per line, whose width in cells is
        # known (every row of plain cells is as wide as the table): the same characters.
        if console.record:
            border, pad = Segment(left, Style()), Segment(" ", Style())
            for row, parts in zip(self.rows, cells, strict=True):
                if None in parts:
                    yield from self._rich_row(console, row_options, widths, row, columns,
                                              rich_row)
                else:
                    yield border
                    for i, part in enumerate(parts):
                        if i:
                            yield Segment(divider, Style())
                        yield pad
                        yield Segment(cast(str, part))
                        yield pad
                    yield Segment(right, Style())
                yield new_line
            return
        line = _sized_segment(cell_len(left) + cell_len(right) + sum(widths)
                              + max(len(widths) - 1, 0) * cell_len(divider))
        start, sep, end = left + " ", f" {divider} ", " " + right
        for row, parts in zip(self.rows, cells, strict=True):
            if None in parts:
                yield from self._rich_row(console, row_options, widths, row, columns, rich_row)
            else:
                yield line(start + sep.join(cast(tuple[str, ...], parts)) + end)
            yield new_line

    @staticmethod
    def _rich_row(console: Console, options: ConsoleOptions, widths: list[int], row: Cells,
                  columns: Sequence[object], box: tuple[str, str, str]) -> Iterator[Segment]:
        """One body row laid out by Rich's cell renderer, as ``Table._render`` does it."""
        rendered = []
        for text, width, column in zip(row, widths, columns, strict=True):
            render_options = options.update(
                width=width, justify=column.justify, no_wrap=column.no_wrap,  # type: ignore[attr-defined]
                overflow=column.overflow, height=None,  # type: ignore[attr-defined]
                highlight=column.highlight)  # type: ignore[attr-defined]
            rendered.append(console.render_lines(Padding(text, (0, 1, 0, 1)), render_options,
                                                 style=Style.null()))
        height = max(len(lines) for lines in rendered)
        cells = [Segment.set_shape(Segment.align_top(lines, width, height, Style.null()),
                                   width, height)
                 for lines, width in zip(rendered, widths, strict=True)]
        left, right, divider = box
        for line_no in range(height):
            yield Segment(left, Style())
            for i, cell in enumerate(cells):
                if i:
                    yield Segment(divider, Style())
                yield from cell[line_no]
            yield Segment(right, Style())
            if line_no < height - 1:
                yield Segment.line()
