"""The one place numbers are made human: ``568.74 M``, ``2.36 MiB``, ``11.3%``."""

from __future__ import annotations

_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_BINARY = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def human(value: float, *, digits: int = 2) -> str:
    """SI-scaled count: 568740352 -> '568.74 M'. Exact below 1000."""
    if isinstance(value, int) and abs(value) < 1000:
        return str(value)
    for scale, suffix in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f} {suffix}"
    return f"{value:.{digits}f}"


def human_bytes(value: int, *, digits: int = 2) -> str:
    for scale, suffix in _BINARY:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f} {suffix}"
    return f"{value} B"


def pct(value: float, *, digits: int = 2) -> str:
    return f"{value:.{digits}f}%"


def ratio(value: float) -> str:
    return f"{value:.4f}"


def times(value: float) -> str:
    return f"{value:.2f}×"


def shape(dims: tuple[int, ...] | list[int]) -> str:
    return "×".join(str(d) for d in dims)


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def compact_shape(dims: tuple[int, ...] | list[int]) -> str:
    """Channels first, equal spatial sizes folded: (32, 112, 112) -> '32×112²'."""
    if len(dims) >= 3 and len(set(dims[1:])) == 1:
        return f"{dims[0]}×{dims[1]}" + str(len(dims) - 1).translate(_SUPERSCRIPT)
    return shape(dims)
