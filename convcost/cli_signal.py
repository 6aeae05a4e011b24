"""The CLI's SIGINT handler, installed before any heavy import (it imports only what the
interpreter has already loaded).

A Ctrl-C is raised as :class:`Interrupted`, except while a module is being imported: an
exception thrown into an extension module's initialisation (torch's ``_C`` through pybind11)
can abort the process or leave a half-initialised module behind, and one raised in the import
machinery's own callbacks is lost. Then the interrupt waits, polled by a short timer, until no
import is in progress, and is raised there.
"""

import signal
import sys

from convcost._interrupt import Interrupted

received: list[int] = []
"""Non-empty once the user pressed Ctrl-C: whatever the interrupted code turned the exception
into, it is still the user's Ctrl-C."""

_POLL_S = 0.02


def _importing() -> bool:
    """Whether some module is being imported right now (its spec is marked initialising)."""
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        if spec is not None and getattr(spec, "_initializing", False):
            return True
    return False


def _unsafe(frame: object) -> bool:
    """An import in progress, or the import machinery itself running (a module lock's weakref
    callback: an exception raised there is printed as "Exception ignored" and lost)."""
    code = getattr(frame, "f_code", None)
    if code is not None and code.co_filename.startswith("<frozen importlib"):
        return True
    return _importing()


def _raise_when_safe(signum: int, frame: object) -> None:
    if _unsafe(frame):
        signal.setitimer(signal.ITIMER_REAL, _POLL_S)
        return
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    raise Interrupted


def _on_sigint(signum: int, frame: object) -> None:
    received.append(signum)
    if _unsafe(frame) and hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, _raise_when_safe)
        signal.setitimer(signal.ITIMER_REAL, _POLL_S)
        return
    raise Interrupted


def settle() -> None:
    """The run is over: an interrupt still waiting for an import is not raised any more."""
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def install() -> None:
    """Ctrl-C raises :class:`Interrupted` (one line, exit 130) instead of KeyboardInterrupt."""
    try:  # noqa: SIM105 (contextlib is one more import before the handler is in place)
        signal.signal(signal.SIGINT, _on_sigint)
    except (ValueError, OSError):  # not the main thread
        pass
