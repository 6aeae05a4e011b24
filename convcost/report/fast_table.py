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
    """Indices of the rows whose cells decide every column's measurement (see module doc)."""
    if not rows:
        return []
    columns = len(rows[0])
    best_min = [(-1, 0)] * columns
    best_max = [(-1, 0)] * columns
    best_len = [(-1, 0)] * columns  # builders may size columns by len() too
    special: list[int] = []
    for index, row in enumerate(rows):
        for col, text in enumerate(row):
            if len(text) > best_len[col][0]:
                best_len[col] = (len(text), index)
            if not is_plain(text):
                special.append(index)
                continue
            lo, hi = measure(text)
            if lo > best_min[col][0]:
                best_min[col] = (lo, index)
            if hi > best_max[col][0]:
                best_max[col] = (hi, index)
    picked = {i for _, i in (*best_min, *best_max, *best_len)} | set(special)
    return sorted(picked)


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
        right_just = [c.justify == "right" for c in columns]
        simple = all(c.justify in ("left", "right", "default") for c in columns) and \
            all(p == 2 for p in pads)
        spaces = [w - 2 for w in widths]
        new_line = Segment.line()
        row_options = options.update(width=sum(widths) + template._extra_width,
                                     highlight=template.highlight, height=None)
        # A recording console (SVG/HTML export) gets Rich's own segments, one per border,
        # padding and text; any other console one segment per line: the same characters.
        record = console.record
        border, pad = Segment(left, Style()), Segment(" ", Style())
        for row in self.rows:
            if simple:
                parts = []
                for text, space, rjust in zip(row, spaces, right_just, strict=True):
                    if not is_plain(text) or (rjust and text.endswith(" ")):
                        break  # Rich strips a right-justified cell's trailing spaces
                    gap = space - width(text)
                    if gap < 0:
                        break
                    parts.append(" " * gap + text if rjust else text + " " * gap)
                else:
                    if record:
                        yield border
                        for i, part in enumerate(parts):
                            if i:
                                yield Segment(divider, Style())
                            yield pad
                            yield Segment(part)
                            yield pad
                        yield Segment(right, Style())
                    else:
                        yield Segment(left + " " + f" {divider} ".join(parts) + " " + right)
                    yield new_line
                    continue
            yield from self._rich_row(console, row_options, widths, row, columns,
                                      (left, right, divider))
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
