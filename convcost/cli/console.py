"""Where output goes: data to stdout, diagnostics (errors, notes, progress) to stderr.

Consoles are made per call so that test runners that swap sys.stdout see the output. Rich
honours NO_COLOR and FORCE_COLOR by itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from convcost.cli.safety import (
    SafeStream,
    clean_text,
    refuse_overwrite,
    stdout_closed,
    user_code,
    write_file,
)

if TYPE_CHECKING:  # Rich's console is imported when something is rendered, not at start-up
    from rich.console import Console, RenderableType

__all__ = ["clean_text", "refuse_overwrite", "stdout_closed", "user_code", "write_file"]

PIPE_WIDTH = 120
"""Width of tables written to a file or pipe (Rich would use 80), unless COLUMNS says."""
MAX_WIDTH = 10_000

TRUST_HELP = ("Load a .pt2/TorchScript archive even when it holds pickled objects "
              "(unpickling runs code: only for files you trust).")


def _width() -> int | None:
    cols = os.environ.get("COLUMNS", "")
    if cols.isascii() and cols.isdigit() and 0 < int(cols) <= MAX_WIDTH:
        return int(cols)
    return None


def out() -> Console:
    from convcost.cli.rich_console import CleanConsole

    console = CleanConsole(file=cast(IO[str], SafeStream(sys.stdout)), width=_width(),
                           highlight=False, soft_wrap=False)
    if not console.is_terminal and _width() is None:
        console.width = PIPE_WIDTH
    return console


def err() -> Console:
    from convcost.cli.rich_console import CleanConsole

    return CleanConsole(file=cast(IO[str], SafeStream(sys.stderr)), width=_width(),
                        highlight=False)


def _surely_not_terminal(stream: object) -> bool:
    """True when Rich would find that ``stream`` is not a terminal, known without importing
    Rich: no TTY_COMPATIBLE or FORCE_COLOR to say otherwise, and no tty (Rich's own test)."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return False  # let Rich decide
    isatty = getattr(stream, "isatty", None)
    try:
        return isatty is None or not isatty()
    except ValueError:  # a closed stream: Rich says not a terminal too
        return True


def print_data(text: str | Iterable[str]) -> None:
    """Machine-readable text (JSON, CSV, Markdown), whole or in pieces, with control
    characters replaced."""
    stream = SafeStream(sys.stdout)
    for piece in [text] if isinstance(text, str) else text:
        stream.write(clean_text(piece))
    stream.flush()


def print_diagnostic(text: str) -> None:
    """One line on stderr exactly as given, control characters replaced (workflow commands)."""
    stream = SafeStream(sys.stderr)
    stream.write(clean_text(text) + "\n")
    stream.flush()


def print_table(renderable: RenderableType) -> None:
    out().print(renderable)


def note(message: str) -> None:
    err().print(message, style="yellow", markup=False, highlight=False, soft_wrap=True)


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on stderr for long work; silent when stderr is not a terminal."""
    if _surely_not_terminal(sys.stderr):
        yield
        return
    console = err()
    if not console.is_terminal:
        yield
        return
    with console.status(message, spinner="dots"):
        yield


SVG_COLUMNS = 100
"""An SVG export is this many columns wide at most: readable when scaled into a document."""


def export(renderable: RenderableType, path: Path, html: str | None = None) -> None:
    """Save a report: ``html`` (a complete page) for .html when given, else Rich's HTML; SVG
    on a light background, at most SVG_COLUMNS wide."""
    from rich.terminal_theme import DEFAULT_TERMINAL_THEME

    from convcost.cli.rich_console import CleanConsole
    from convcost.errors import Context, InputError

    svg = path.suffix.lower() == ".svg"
    try:
        if not svg and html is not None:
            text = html
        else:
            width = min(_width() or SVG_COLUMNS, SVG_COLUMNS) if svg else (_width() or 160)
            with open(os.devnull, "w") as sink:
                recorder = CleanConsole(record=True, width=width, file=sink)
                recorder.print(renderable)
            if svg:
                text = recorder.export_svg(title="convcost", theme=DEFAULT_TERMINAL_THEME)
            else:
                text = recorder.export_html(theme=DEFAULT_TERMINAL_THEME)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror}", Context(flag="--export")) from None
    write_file(path, text, "--export")


@contextmanager
def progress(message: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr; yields the function that advances it by one."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = err()
    if not console.is_terminal:
        yield lambda: None
        return
    with Progress(TextColumn(message), BarColumn(), MofNCompleteColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task(message, total=total)
        yield lambda: bar.advance(task)


@dataclass(frozen=True)
class Output:
    """One report in every format, made only when asked for; ``extra`` is an optional second
    part (measurements) under key ``extra_key`` in JSON, appended in Markdown and tables."""

    data: Callable[[], dict[str, Any]]
    csv: Callable[[], str]
    markdown: Callable[[], str]
    table: Callable[[], RenderableType]
    extra_key: str = ""
    extra_data: Callable[[], dict[str, Any]] | None = None
    extra_markdown: Callable[[], str] | None = None
    extra_table: Callable[[], RenderableType] | None = None


def emit(fmt: str, output: Output) -> None:
    """Print ``output`` in format ``fmt`` (table, json, csv or markdown) on stdout."""
    from convcost.report.formats import iter_json

    extra = output.extra_data is not None
    if fmt == "json":
        data = output.data()
        if output.extra_data is not None:
            data[output.extra_key] = output.extra_data()
        print_data(iter_json(data))
    elif fmt == "csv":
        print_data(output.csv())
        if extra:
            note(f"CSV carries the counts only; use --format json for the {output.extra_key} "
                 "values")
    elif fmt == "markdown":
        print_data(output.markdown())
        if output.extra_markdown is not None:
            print_data("\n" + output.extra_markdown())
    else:
        print_table(output.table())
        if output.extra_table is not None:
            print_table(output.extra_table())
