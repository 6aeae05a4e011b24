"""Flag values the CLI takes as text, checked with messages that name the flag."""

from __future__ import annotations

from convcost.core.dtypes import DType
from convcost.errors import Context, InputError

MAX_DIM = 2**31
"""The largest size, channel count, kernel, stride or batch a flag takes (a tensor dimension
beyond 2^31 is refused, exit 2)."""
MAX_TEXT = 200


def _bad(flag: str, message: str) -> InputError:
    return InputError(message, Context(flag=flag))


def _shown(value: int) -> str:
    return str(value) if abs(value) < 10**30 else "a number with too many digits"


def positive(flag: str, value: int) -> int:
    if value < 1:
        raise _bad(flag, f"must be a positive integer, got {_shown(value)}")
    return bounded(flag, value)


def non_negative(flag: str, value: int) -> int:
    if value < 0:
        raise _bad(flag, f"must be 0 or more, got {_shown(value)}")
    return bounded(flag, value)


def bounded(flag: str, value: int) -> int:
    if value > MAX_DIM:
        raise _bad(flag, f"{_shown(value)} is too large (at most 2^31 = {MAX_DIM:,})")
    return value


def ascii_int(flag: str, text: str, what: str) -> int:
    """An integer written with the ASCII digits 0-9 only ('²' and '٣' are refused)."""
    word = text.strip()
    if not (word.isascii() and word.isdigit()):
        raise _bad(flag, f"{text!r} is not {what}; write ASCII digits 0-9")
    if len(word) > 12:
        raise _bad(flag, f"{word[:12]}... is too large (at most 2^31 = {MAX_DIM:,})")
    return bounded(flag, int(word))


def size(flag: str, text: str, dims: int) -> tuple[int, ...]:
    """'56' (every dimension) or '56x56' / '16x56x56' (one per dimension)."""
    if len(text) > MAX_TEXT:
        raise _bad(flag, f"{text[:20]!r}... is too long to be a size")
    parts = [p.strip() for p in text.lower().replace("×", "x").split("x")]
    values: list[int] = []
    for p in parts:
        if not p.lstrip("-").isdigit() or not p.isascii():
            raise _bad(flag, f"{text!r} is not a size; use H or HxW with positive integers "
                       "(ASCII digits 0-9)")
        values.append(ascii_int(flag, p, "a size") if not p.startswith("-") else -1)
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
    if word.isdigit() and word.isascii():
        return ascii_int(flag, word, "a padding")
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
