"""Hold our count against a reference's and say why they differ.

fvcore and torch's counter both count convolutions and matrix products as multiply-adds, like
us; fvcore also puts batch-norm, adaptive pooling and upsampling into the same total. A
difference that those extra operators explain exactly is *explained*, not a disagreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from convcost._compat import StrEnum
from convcost.reference.products import mac_operators


class Status(StrEnum):
    AGREE = "agree"
    EXPLAINED = "explained"
    DIFFER = "differ"


@dataclass(frozen=True)
class Agreement:
    tool: str
    ours: int
    theirs: int
    status: Status
    reason: str = ""

    @property
    def mark(self) -> str:
        return {Status.AGREE: "✓", Status.EXPLAINED: "≈", Status.DIFFER: "✗"}[self.status]


def reconcile(
    tool: str,
    ours_macs: int,
    theirs_by_operator: Mapping[str, int],
    *,
    unsupported: Mapping[str, int] | None = None,
    known_skips: Mapping[str, int] | None = None,
) -> Agreement:
    """``known_skips``: what convcost counts that the tool is known not to (name -> MACs, e.g.
    ``{"attention": n}``); a difference they explain exactly is explained, not a disagreement."""
    theirs = sum(theirs_by_operator.values())
    skipped = ""
    if unsupported:
        names = ", ".join(sorted(op.removeprefix("aten::") for op in unsupported))
        skipped = f"; {tool} skips {names}"
    if theirs == ours_macs:
        return Agreement(tool, ours_macs, theirs, Status.AGREE, skipped.removeprefix("; "))
    products = mac_operators()
    macs_part = sum(n for op, n in theirs_by_operator.items() if op in products)
    extras = {op: n for op, n in theirs_by_operator.items() if op not in products and n}
    skips = {name: n for name, n in (known_skips or {}).items() if n}
    if skips and macs_part + sum(skips.values()) == ours_macs:
        listed = ", ".join(f"{name} ({n:,} MACs)" for name, n in sorted(skips.items()))
        also = ("; it also counts " + ", ".join(f"{op} (+{n:,})" for op, n in
                                              sorted(extras.items()))) if extras else ""
        return Agreement(
            tool, ours_macs, theirs, Status.EXPLAINED,
            f"MACs agree but for {listed}, which {tool} does not count{also}{skipped}",
        )
    if macs_part == ours_macs and extras:
        listed = ", ".join(f"{op} (+{n:,})" for op, n in sorted(extras.items()))
        return Agreement(
            tool, ours_macs, theirs, Status.EXPLAINED,
            f"MACs agree; {tool} also counts {listed}{skipped}",
        )
    diff = theirs - ours_macs
    why = f"{tool} counts {diff:+,} multiply-adds"
    if extras:
        why += " (incl. " + ", ".join(f"{op} {n:,}" for op, n in sorted(extras.items())) + ")"
    return Agreement(tool, ours_macs, theirs, Status.DIFFER, why + skipped)
