"""The command-line interface; the only package that prints or exits."""

from __future__ import annotations

import os
import sys
import threading

from convcost._interrupt import Interrupted
from convcost.cli_signal import install as _install
from convcost.cli_signal import received as _received
from convcost.cli_signal import settle as _settle


def main() -> None:
    _install()
    try:
        from convcost.cli.app import app
    except BaseException as err:
        _settle()
        if isinstance(err, Interrupted | KeyboardInterrupt) or _received:
            sys.stderr.write("convcost: error: interrupted\n")
            sys.exit(130)
        raise
    try:
        app()
    except (SystemExit, Interrupted) as done:
        _settle()  # nothing may be raised into the exit below
        code = done.code if isinstance(done, SystemExit) else 0
        if _received and code != 130:
            # A Ctrl-C that native code swallowed (torch's extension import runs pending signal
            # handlers and clears their exception): the user still asked to stop.
            sys.stderr.write("convcost: error: interrupted\n")
            code = 130
        if isinstance(code, int | None) and _alone() and _flushed():
            # Everything is written: skip the interpreter's teardown, which after `import
            # torch` costs about a second of CPU freeing what the process is about to drop.
            os._exit(code or 0)
        raise SystemExit(code) from None


def _alone() -> bool:
    """Nothing else wants the interpreter's exit: no other thread, no profiler or tracer
    (``python -m cProfile -m convcost`` prints its report at exit)."""
    return threading.active_count() == 1 and sys.getprofile() is None and \
        sys.gettrace() is None


def _flushed() -> bool:
    """Flush stdout and stderr; False when that fails (let the normal exit report it)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return False
    return True
