"""Budget values: ``600M``, ``4.5M``, ``130MB``, ``1%``, ``+50k`` -> exact numbers.

Parsing is strict: a value is a number (a YAML int, a YAML float such as ``1.5e9``, or text)
followed by at most one known unit. Anything else -- ``12 parsecs``, ``600m``, ``true`` -- is a
:class:`UnitError` whose message says what is allowed; the budget loader adds ``file:line``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from convcost._compat import StrEnum


class Metric(StrEnum):
    """What a budget can limit; each is an exact integer in every analysis."""

    MACS = "macs"
    FLOPS = "flops"
    PARAMS = "params"
    WEIGHTS = "weights"
    OTHER_OPS = "other_ops"
    BYTES = "bytes"


class Form(StrEnum):
    ABSOLUTE = "absolute"
    """A count: ``600M`` (``max``)."""
    PERCENT = "percent"
    """A percentage of the baseline: ``1%`` (``max_increase``)."""
    DELTA = "delta"
    """A signed change from the baseline: ``+50k`` (``max_increase``)."""


class UnitError(ValueError):
    """A value that is not a number with a known unit; the message says why."""


_COUNT_UNITS: dict[str, int] = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9,
                                "T": 10**12}
_BYTE_UNITS: dict[str, int] = {
    **_COUNT_UNITS,
    "B": 1,
    "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
_HINTS = {"m": "'m' would be milli; write M for millions",
          "g": "write G for billions", "t": "write T for trillions",
          "b": "write B for bytes", "kb": "write kB (1000) or KiB (1024)",
          "mb": "write MB (10^6) or MiB (2^20)"}

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d[\d_]*)(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"
_VALUE = re.compile(rf"^\s*(?P<sign>[+-])?\s*(?P<num>{_NUMBER})\s*(?P<unit>%|[A-Za-z]*)\s*$",
                    re.ASCII)  # \d is 0-9 only: '²' or '٣' is not a digit here

MAX_COUNT = 10**18
"""The largest count (or change of a count) a budget takes; larger is refused (exit 2)."""
MAX_PERCENT = 10**6
"""The largest percentage a ``max_increase`` takes."""
MAX_TEXT = 64
"""The longest value text; a number is never longer (this also bounds the digits parsed)."""
_MAX_EXPONENT = 3 * MAX_TEXT


@dataclass(frozen=True)
class Amount:
    """A parsed budget value: exact, with the text it was written as."""

    form: Form
    value: Fraction
    """A count (absolute), a percentage (1 for ``1%``) or a signed delta."""
    text: str

    def count(self) -> int:
        """The value as an integer (absolute and delta values are whole by construction)."""
        return int(self.value)


def units_for(metric: Metric) -> str:
    if metric is Metric.BYTES:
        return "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB (or k, M, G, T)"
    return "k, M, G, T"


def _unit_scale(unit: str, metric: Metric) -> int:
    table = _BYTE_UNITS if metric is Metric.BYTES else _COUNT_UNITS
    if unit in table:
        return table[unit]
    if metric is not Metric.BYTES and unit in _BYTE_UNITS:
        raise UnitError(f"{unit!r} is a unit of bytes, but {metric} is a count; "
                        f"use {units_for(metric)}")
    hint = _HINTS.get(unit.lower()) if unit not in _BYTE_UNITS else None
    raise UnitError(f"unknown unit {unit!r}" + (f" ({hint})" if hint else "")
                    + f"; use {units_for(metric)}")


def _fraction(num: str) -> Fraction:
    """Exact value of a matched number; the exponent is bounded before any power is taken."""
    mantissa, _, exponent = num.replace(",", "").replace("_", "").lower().partition("e")
    exp = int(exponent or "0")
    if abs(exp) > _MAX_EXPONENT:
        raise UnitError(f"{_clip(num)!r} is out of range (at most 10^18)")
    return Fraction(mantissa) * Fraction(10) ** exp


def _clip(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "..."


def _bounded(value: Fraction, text: str, form: Form) -> Fraction:
    limit = MAX_PERCENT if form is Form.PERCENT else MAX_COUNT
    if abs(value) > limit:
        what = f"{MAX_PERCENT:,}%" if form is Form.PERCENT else "10^18"
        raise UnitError(f"{_clip(text)!r} is out of range (at most {what})")
    return value


def parse_amount(raw: object, metric: Metric, *, increase: bool) -> Amount:
    """One budget value for ``metric``.

    ``increase=False`` (``max``): an absolute count >= 0. ``increase=True``
    (``max_increase``): a percentage ``1%`` or a delta ``+50k`` / ``50k`` / ``-10k`` (a
    negative value demands a decrease).
    """
    if isinstance(raw, bool) or raw is None:
        raise UnitError(f"expected a number such as 600M, got {_show(raw)}")
    if isinstance(raw, int):
        if abs(raw) > MAX_COUNT:
            raise UnitError(f"{_short(raw)} is out of range (at most 10^18)")
        return _finish(Fraction(raw), Form.DELTA if increase else Form.ABSOLUTE, str(raw),
                       metric, sign="")
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise UnitError(f"expected a finite number, got {raw}")
        if abs(raw) > MAX_COUNT:
            raise UnitError(f"{raw!r} is out of range (at most 10^18)")
        return _finish(Fraction(repr(raw)), Form.DELTA if increase else Form.ABSOLUTE,
                       repr(raw), metric, sign="")
    if not isinstance(raw, str):
        raise UnitError(f"expected a number such as 600M, got {_show(raw)}")
    if len(raw) > MAX_TEXT:
        raise UnitError(f"{_clip(raw)!r} is {len(raw)} characters; a value is at most "
                        f"{MAX_TEXT}")
    m = _VALUE.match(raw)
    if m is None:
        raise UnitError(f"{raw!r} is not a number with a unit; write e.g. "
                        + ("1%, +50k or 2M" if increase else "600M, 4.5M or 600000000"))
    sign, num, unit = m.group("sign") or "", m.group("num"), m.group("unit")
    value = _fraction(num)
    if unit == "%":
        if not increase:
            raise UnitError(f"{raw!r}: a percentage is relative to the baseline; put it under "
                            "max_increase, or give an absolute limit here")
        return _finish(-value if sign == "-" else value, Form.PERCENT, raw.strip(), metric,
                       sign=sign)
    value *= _unit_scale(unit, metric)
    if sign and not increase:
        raise UnitError(f"{raw!r}: a signed change is relative to the baseline; put it under "
                        "max_increase, or give an unsigned absolute limit here")
    return _finish(-value if sign == "-" else value, Form.DELTA if increase else Form.ABSOLUTE,
                   raw.strip(), metric, sign=sign)


def _finish(value: Fraction, form: Form, text: str, metric: Metric, *, sign: str) -> Amount:
    value = _bounded(value, text, form)
    if form is not Form.PERCENT and value.denominator != 1:
        raise UnitError(f"{text!r} is {float(value)}, not a whole number of {metric}")
    if form is Form.ABSOLUTE and value < 0:
        raise UnitError(f"{text!r}: a limit must be 0 or more")
    if form is Form.PERCENT and value <= -100:
        raise UnitError(f"{text!r}: a decrease of 100% or more leaves nothing")
    return Amount(form, value, text)


def _short(value: int) -> str:
    """An integer for a message, without converting thousands of digits."""
    if abs(value) < 10**30:
        return str(value)
    return f"an integer of about {int(value.bit_length() * 0.30103)} digits"


def _show(raw: object) -> str:
    if raw is None:
        return "nothing (null)"
    if isinstance(raw, bool):
        return f"a boolean ({str(raw).lower()})"
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list | tuple):
        return "a list"
    return repr(raw)


def parse_pair(text: str) -> tuple[str, str]:
    """``macs=600M`` -> ('macs', '600M') for the inline ``--max`` flags."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise UnitError(f"{text!r}: write METRIC=VALUE, e.g. macs=600M")
    return name.strip(), value.strip()


def parse_metric(name: str) -> Metric:
    try:
        return Metric(name)
    except ValueError:
        allowed = ", ".join(m.value for m in Metric)
        raise UnitError(f"unknown metric {name!r}; use {allowed}") from None


def suggest(value: int, metric: Metric) -> str:
    """A round limit about 5% above ``value``, three significant figures: 568740352 -> '598M'."""
    target = value * 105 // 100 + 1
    for scale, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if target >= scale:
            decimals = max(0, 3 - len(str(target // scale)))
            step = scale // 10**decimals
            rounded = -(-target // step) * step
            text = f"{rounded / scale:.{decimals}f}".rstrip("0").rstrip(".") if decimals else \
                str(rounded // scale)
            return f"{text}{suffix}" + ("B" if metric is Metric.BYTES else "")
    return str(target)
