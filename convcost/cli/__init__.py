"""The command-line interface; the only package that prints or exits."""

from __future__ import annotations

import contextlib
import signal
import sys


def _on_sigint(signum: int, frame: object) -> None:
    from convcost.errors import Interrupted

    raise Interrupted


def main() -> None:
    # first of all, before the heavy imports: Ctrl-C is one line and exit 130, never a traceback
    with contextlib.suppress(ValueError, OSError):  # not the main thread
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        from convcost.cli.app import app
    except BaseException as err:
        from convcost.errors import Interrupted

        if isinstance(err, Interrupted | KeyboardInterrupt):
            sys.stderr.write("convcost: error: interrupted\n")
            sys.exit(130)
        raise
    app()
