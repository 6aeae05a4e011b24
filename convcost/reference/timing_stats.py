"""Statistics and sanity flags for measured timings: pure Python, no torch (unit-testable).

A timing is only worth printing beside a MAC ratio when it is stable. Two things say it is not:

- **inconsistent parts**: a part took longer than the whole it is part of (the depthwise half
  alone slower than depthwise then pointwise) — only noise or a busy machine does that;
- **wide spread**: the samples' interquartile range is more than :data:`WIDE_SPREAD` of their
  median.

Either way the report says so and advises a re-run on an idle machine.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDE_SPREAD = 0.25
"""A timing whose IQR exceeds this share of its median is flagged as noisy."""
PART_TOLERANCE = 1.0
"""A part is inconsistent when its median exceeds the whole's median times this."""
ADVICE = "re-run on an idle machine (or with more --repeats)"


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (the 'inclusive' method of statistics.quantiles)."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(frozen=True)
class Timing:
    """Milliseconds per call: the median of ``repeats`` samples, min, max and quartiles."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int
    calls: int
    """Calls per sample."""
    q1_ms: float = 0.0
    q3_ms: float = 0.0
    samples: tuple[float, ...] = ()

    @classmethod
    def of(cls, samples: Sequence[float], calls: int = 1) -> Timing:
        if not samples:
            raise ValueError("no samples")
        ordered = sorted(samples)
        return cls(statistics.median(ordered), ordered[0], ordered[-1], len(ordered), calls,
                   _quantile(ordered, 0.25), _quantile(ordered, 0.75), tuple(samples))

    @property
    def iqr_ms(self) -> float:
        return self.q3_ms - self.q1_ms

    @property
    def spread(self) -> float:
        """IQR over median: 0.1 means the middle half of the samples lie within ±5%."""
        return self.iqr_ms / self.median_ms if self.median_ms > 0 else 0.0

    @property
    def wide(self) -> bool:
        return self.spread > WIDE_SPREAD

    def to_dict(self) -> dict[str, float | int]:
        return {"median_ms": self.median_ms, "min_ms": self.min_ms, "max_ms": self.max_ms,
                "q1_ms": self.q1_ms, "q3_ms": self.q3_ms, "spread": self.spread,
                "repeats": self.repeats, "calls_per_sample": self.calls}


def part_warnings(parts: Mapping[str, Timing], whole_name: str, whole: Timing) -> list[str]:
    """One sentence per part whose median is above its whole's."""
    out = []
    for name, t in parts.items():
        if t.median_ms > whole.median_ms * PART_TOLERANCE:
            out.append(f"inconsistent: {name} alone ({t.median_ms:.3g} ms) took longer than "
                       f"{whole_name} ({whole.median_ms:.3g} ms), which includes it")
    return out


def spread_warnings(timings: Mapping[str, Timing]) -> list[str]:
    """One sentence per timing whose spread is wide."""
    return [f"noisy: {name} varied by {t.spread:.0%} of its median (IQR {t.q1_ms:.3g}–"
            f"{t.q3_ms:.3g} ms, min–max {t.min_ms:.3g}–{t.max_ms:.3g} ms)"
            for name, t in timings.items() if t.wide]


def with_advice(warnings: list[str]) -> list[str]:
    """The warnings, then what to do about them (nothing when there are none)."""
    return [*warnings, f"these timings are not reliable: {ADVICE}"] if warnings else []


def interleaved_order(names: Sequence[str], round_index: int) -> list[str]:
    """The order in which round ``round_index`` samples the variants: rotated each round, so
    that no variant is always first (after an idle pause) or last (after the others warmed the
    caches), and a burst of load from elsewhere is shared between them."""
    if not names:
        return []
    k = round_index % len(names)
    return [*names[k:], *names[:k]]
