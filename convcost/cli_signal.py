"""The CLI's SIGINT handler, installed before any heavy import (it imports nothing itself)."""

import signal

from convcost._interrupt import Interrupted

received: list[int] = []
"""Non-empty once the user pressed Ctrl-C: a library interrupted mid-import may turn the
exception into another one (a half-initialised module), and it is still the user's Ctrl-C."""


def _on_sigint(signum: int, frame: object) -> None:
    received.append(signum)
    raise Interrupted


def install() -> None:
    """Ctrl-C raises :class:`Interrupted` (one line, exit 130) instead of KeyboardInterrupt."""
    try:  # noqa: SIM105 (contextlib is one more import before the handler is in place)
        signal.signal(signal.SIGINT, _on_sigint)
    except (ValueError, OSError):  # not the main thread
        pass
