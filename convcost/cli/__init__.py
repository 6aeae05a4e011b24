"""The command-line interface; the only package that prints or exits."""

from __future__ import annotations


def main() -> None:
    from convcost.cli.app import app

    app()
