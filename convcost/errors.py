"""One error family for the whole library.

Library code raises subclasses of :class:`ConvcostError`; only ``convcost.cli`` catches them,
turns them into one line on stderr and maps them to an exit code (see DESIGN: 2 = bad input,
3 = the model could not be analysed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from convcost._interrupt import Interrupted as Interrupted


@dataclass(frozen=True)
class Context:
    """Where an error happened; every part is optional."""

    file: str | None = None
    line: int | None = None
    col: int | None = None
    key: str | None = None
    layer: str | None = None
    flag: str | None = None

    def prefix(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            loc = self.file
            if self.line is not None:
                loc += f":{self.line}"
                if self.col is not None:
                    loc += f":{self.col}"
            parts.append(loc)
        if self.flag is not None:
            parts.append(self.flag)
        if self.key is not None:
            parts.append(self.key)
        if self.layer is not None and self.key is None:
            parts.append(f"layer {self.layer!r}")
        return ": ".join(parts)


@dataclass
class ConvcostError(Exception):
    """Base of every error convcost raises on purpose."""

    message: str
    context: Context = field(default_factory=Context)
    exit_code: int = 2

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        prefix = self.context.prefix()
        return f"{prefix}: {self.message}" if prefix else self.message

    def within(self, **where: str | int | None) -> ConvcostError:
        """The same error with more context; context already set wins (it is more precise)."""
        current = self.context
        merged: dict[str, Any] = {k: v for k, v in where.items() if getattr(current, k) is None}
        err = replace(self, context=replace(current, **merged))
        err.__cause__ = self.__cause__
        return err


@dataclass
class InputError(ConvcostError):
    """Bad input from the user: a flag, a shape, a spec, a file (exit 2)."""


@dataclass
class ShapeError(InputError):
    """A layer cannot be applied to the shape it receives (exit 2)."""


@dataclass
class AnalysisError(ConvcostError):
    """The model could not be analysed: import, trace or reference failure (exit 3)."""

    exit_code: int = 3


@dataclass
class ReferenceSkipped(AnalysisError):
    """A reference count was not made (too large to run); the message says why. The CLI shows
    it as a note and still prints convcost's own counts."""


@dataclass
class UncountedOpsError(AnalysisError):
    """``--strict``: the model ran ops convcost does not cost (exit 3)."""


# ---------------------------------------------------------------- interrupts



def is_user_interrupt(err: BaseException) -> bool:
    """An interrupt that came from the user's terminal, not from the model's code."""
    return isinstance(err, Interrupted)


def reraise_user_interrupt(err: BaseException) -> None:
    """Let a real Ctrl-C through; everything else raised by user code is the caller's to wrap."""
    if is_user_interrupt(err):
        raise err
