"""Options more than one command takes, declared once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from convcost.cli import parse

if TYPE_CHECKING:
    from convcost.reference.timing import Settings

REPEATS = typer.Option(10, "--repeats", help="Timed samples per layer (--measure).")
WARMUP = typer.Option(2, "--warmup", help="Untimed warm-up calls (--measure).")
THREADS = typer.Option(
    None, "--threads", metavar="N",
    help="torch threads while timing (--measure; default: torch's, all cores).")


def measure_settings(repeats: int, warmup: int, threads: int | None) -> Settings:
    """The --measure options, checked, as timing settings (imports torch)."""
    from convcost.reference import timing as timer

    parse.positive("--repeats", repeats)
    parse.non_negative("--warmup", warmup)
    if threads is not None:
        parse.positive("--threads", threads)
    return timer.settings(repeats, warmup, threads=threads)
