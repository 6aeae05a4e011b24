"""Options more than one command takes, declared once."""

from __future__ import annotations

import typer

REPEATS = typer.Option(10, "--repeats", help="Timed samples per layer (--measure).")
WARMUP = typer.Option(2, "--warmup", help="Untimed warm-up calls (--measure).")
THREADS = typer.Option(
    None, "--threads", metavar="N",
    help="torch threads while timing (--measure; default: torch's, all cores).")
