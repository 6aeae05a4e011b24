"""Flag values the CLI takes as text, checked with messages that name the flag."""

from __future__ import annotations

from convcost.core.dtypes import DType
from convcost.errors import Context, InputError


def _bad(flag: str, message: str) -> InputError:
    return InputError(message, Context(flag=flag))


def positive(flag: str, value: int) -> int:
    if value < 1:
        raise _bad(flag, f"must be a positive integer, got {value}")
    return value


def non_negative(flag: str, value: int) -> int:
    if value < 0:
        raise _bad(flag, f"must be 0 or more, got {value}")
    return value


def size(flag: str, text: str, dims: int) -> tuple[int, ...]:
    """'56' (every dimension) or '56x56' / '16x56x56' (one per dimension)."""
    parts = [p.strip() for p in text.lower().replace("×", "x").split("x")]
    values: list[int] = []
    for p in parts:
        if not p.lstrip("-").isdigit():
            raise _bad(flag, f"{text!r} is not a size; use H or HxW with positive integers")
        values.append(int(p))
    if any(v < 1 for v in values):
        raise _bad(flag, f"sizes must be positive integers, got {text!r}")
    if len(values) == 1:
        return (values[0],) * dims
    if len(values) != dims:
        raise _bad(flag, f"{text!r} has {len(values)} sizes but --dims is {dims}")
    return tuple(values)


def padding(flag: str, text: str) -> int | str:
    word = text.strip().lower()
    if word in ("same", "valid"):
        return word
    if word.isdigit():
        return int(word)
    raise _bad(flag, f"{text!r} is not allowed; use an integer >= 0, 'same' or 'valid'")


def dtype(flag: str, text: str) -> DType:
    try:
        return DType.parse(text)
    except InputError as e:
        raise _bad(flag, e.message) from None


def choice(flag: str, value: int, allowed: tuple[int, ...]) -> int:
    if value not in allowed:
        raise _bad(flag, f"{value} is not allowed; use one of {', '.join(map(str, allowed))}")
    return value
