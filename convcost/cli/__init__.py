"""The command-line interface; the only package that prints or exits."""

from __future__ import annotations

import contextlib
import signal
import sys

from convcost._interrupt import Interrupted


def _on_sigint(signum: int, frame: object) -> None:
    raise Interrupted


def _install() -> None:
    """Ctrl-C is one line and exit 130, never a traceback (from here on)."""
    with contextlib.suppress(ValueError, OSError):  # not the main thread
        signal.signal(signal.SIGINT, _on_sigint)


if sys.argv and sys.argv[0].rsplit("/", 1)[-1] in ("convcost", "convcost.exe"):
    _install()  # the console script: as early as possible, before the heavy imports


def main() -> None:
    _install()
    try:
        from convcost.cli.app import app
    except BaseException as err:
        if isinstance(err, Interrupted | KeyboardInterrupt):
            sys.stderr.write("convcost: error: interrupted\n")
            sys.exit(130)
        raise
    app()
