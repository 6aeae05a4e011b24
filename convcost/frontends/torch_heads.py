"""Per-proposal and per-detection heads of two-stage detectors (torchvision's ``RoIHeads``).

A detector's cost depends on how many region proposals reach its box head and how many
detections reach its mask or keypoint head; a real run with random weights reaches other counts
than torchvision's published figures assume. This module reads, from the analysed rows, how many
items each head saw and what one item costs, so that a count can be scaled to any other number.
"""

from __future__ import annotations

from typing import Any

from convcost.core.analysis import Analysis

# head -> (what one item is, the row-name prefixes it owns, the prefix whose input counts items)
HEADS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "box": ("proposal", ("roi_heads.box_roi_pool", "roi_heads.box_head",
                         "roi_heads.box_predictor"), "roi_heads.box_head"),
    "mask": ("detection", ("roi_heads.mask_roi_pool", "roi_heads.mask_head",
                           "roi_heads.mask_predictor"), "roi_heads.mask_head"),
    "keypoint": ("detection", ("roi_heads.keypoint_roi_pool", "roi_heads.keypoint_head",
                               "roi_heads.keypoint_predictor"), "roi_heads.keypoint_head"),
}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def head_costs(analysis: Analysis) -> dict[str, dict[str, Any]]:
    """head -> ``{"item", "count", "macs", "macs_per_item"}`` for every head that ran."""
    out: dict[str, dict[str, Any]] = {}
    for head, (item, prefixes, counter) in HEADS.items():
        rows = [r for r in analysis.rows if any(_under(r.name, p) for p in prefixes)]
        counted = [r for r in rows if _under(r.name, counter) and r.record.inputs]
        if not rows or not counted:
            continue
        count = int(counted[0].record.inputs[0][0])
        macs = sum(r.cost.macs for r in rows)
        out[head] = {
            "item": item,
            "count": count,
            "macs": macs,
            "macs_per_item": macs // count if count else 0,
        }
    return out


def unreached_heads(model: Any, seen: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Heads no item reached in the run (0 detections): their cost per item, from one walk of
    the head and its predictor on a single pooled region."""
    from convcost.frontends.torch import walk

    roi = getattr(model, "roi_heads", None)
    channels = getattr(getattr(model, "backbone", None), "out_channels", None)
    out: dict[str, dict[str, Any]] = {}
    if roi is None or not isinstance(channels, int):
        return out
    for head, (item, _, _) in HEADS.items():
        modules = [getattr(roi, f"{head}_{part}", None) for part in ("roi_pool", "head",
                                                                    "predictor")]
        if head in seen or any(m is None for m in modules):
            continue
        size = getattr(modules[0], "output_size", None)
        side = size[0] if isinstance(size, (tuple, list)) else size
        if not isinstance(side, int):
            continue
        pair = _Pair(modules[1], modules[2])
        result = walk(pair, [(1, channels, side, side)], execution="meta")
        from convcost.core.analysis import Totals, cost_records
        from convcost.core.dtypes import DType

        macs = Totals.of(cost_records(result.records, DType.FLOAT32)).macs
        out[head] = {"item": item, "count": 0, "macs": 0, "macs_per_item": macs}
    return out


def _pair_class() -> Any:
    from torch import nn

    class Pair(nn.Module):
        def __init__(self, head: nn.Module, predictor: nn.Module) -> None:
            super().__init__()
            self.head = head
            self.predictor = predictor

        def forward(self, x: Any) -> Any:
            return self.predictor(self.head(x))

    return Pair


def _Pair(head: Any, predictor: Any) -> Any:
    return _pair_class()(head, predictor)


def describe_heads(heads: dict[str, dict[str, Any]]) -> str:
    """``box head: 279 proposals × 1,234 MACs; mask head: ...`` (empty without heads)."""
    parts = []
    for head, h in heads.items():
        parts.append(f"{head} head: {h['count']:,} {h['item']}s × {h['macs_per_item']:,} MACs "
                     f"= {h['macs']:,}")
    if not parts:
        return ""
    return "; ".join(parts) + " (scale by the count you expect)"
