"""One point of MobileNet's width-multiplier × resolution grid (the paper's Tables 6, 7)."""

from __future__ import annotations

from dataclasses import dataclass

from convcost.core.cost import FLOPS_PER_MAC


@dataclass(frozen=True)
class SweepPoint:
    width_mult: float
    resolution: int
    macs: int
    params: int
    weights: int

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs
