"""The command-line interface; the only package that prints or exits."""

from __future__ import annotations

import gc


def main() -> None:
    # A run allocates many small, long-lived objects (records, costs, rows) and frees little:
    # the default collector spends ~40% of a 100,000-layer analysis rescanning them.
    gc.set_threshold(100_000, 50, 100)
    from convcost.cli.app import app

    app()
