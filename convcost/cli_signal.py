"""The CLI's SIGINT handler, installed before any heavy import (it imports nothing itself)."""

import signal

from convcost._interrupt import Interrupted


def _on_sigint(signum: int, frame: object) -> None:
    raise Interrupted


def install() -> None:
    """Ctrl-C raises :class:`Interrupted` (one line, exit 130) instead of KeyboardInterrupt."""
    try:  # noqa: SIM105 (contextlib is one more import before the handler is in place)
        signal.signal(signal.SIGINT, _on_sigint)
    except (ValueError, OSError):  # not the main thread
        pass
