"""Hold our count against a reference's and say why they differ.

fvcore and torch's counter both count convolutions and matrix products as multiply-adds, like
us; fvcore also puts batch-norm, adaptive pooling and upsampling into the same total. A
difference that those extra operators explain exactly is *explained*, not a disagreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from convcost import catalog
from convcost._compat import StrEnum

_MAC_OPERATORS = {
    "conv", "convolution", "_convolution", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "linear", "addmm", "mm", "bmm", "baddbmm", "matmul",
    "scaled_dot_product_attention", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_flash_attention_for_cpu", "_flash_attention_forward",
    "_efficient_attention_forward",
}
"""Operators whose counts are multiply-adds in the references: core's products here, an op
module's own (einsum) registered with :func:`counted_as_macs`."""


def counted_as_macs(*operators: str) -> None:
    """Say that the references count these operators (their names without ``aten::``) as
    multiply-adds, as convcost counts the op."""
    _MAC_OPERATORS.update(operators)


def mac_operators() -> frozenset[str]:
    catalog.load()
    return frozenset(_MAC_OPERATORS)


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
