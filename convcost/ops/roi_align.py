"""RoI align (torchvision's ``roi_align``, the box features of Faster/Mask R-CNN heads).

Everything convcost knows of it: the op, its shape rule and formula, and the torchvision op
that is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.ops import OpInfo, Shape, positive
from convcost.errors import ShapeError
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.registry import handles as torch_op
from convcost.frontends.unsupported import Unsupported

if TYPE_CHECKING:
    from convcost.frontends.torch.state import WalkState


@dataclass(frozen=True)
class RoiAlign(OpInfo):
    """torchvision's ``roi_align``: features ``(N, C, H, W)`` and boxes ``(K, 5)`` ->
    ``(K, C, *output_size)``; every output bin averages ``sampling_ratio`` x
    ``sampling_ratio`` bilinear samples."""

    output_size: tuple[int, int]
    sampling_ratio: int

    def __post_init__(self) -> None:
        positive(self.output_size, "roi_align output size")
        positive((self.sampling_ratio,), "roi_align sampling ratio")

    @property
    def kind(self) -> str:
        return "roi_align"


@shape_rule(RoiAlign)
def roi_align_shape(op: RoiAlign, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) != 2:
        raise ShapeError(f"roi_align takes features and boxes, got {len(inputs)} shapes")
    x, boxes = inputs
    if len(x) != 4 or len(boxes) != 2 or boxes[1] != 5:
        raise ShapeError(f"roi_align: features {list(x)} and boxes {list(boxes)}")
    return (boxes[0], x[1], *op.output_size)


@formula(RoiAlign)
def roi_align(op: RoiAlign, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output bin, sampling_ratio² bilinear samples of 4 reads each, and one
    op per sample to average them."""
    out = roi_align_shape(op, inputs)
    samples = op.sampling_ratio**2
    return Cost(output_shape=out, other_ops=numel(out) * samples * 5)


@torch_op("torchvision.roi_align")
def from_torchvision(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    ratio = int(a["sampling_ratio"])
    if ratio <= 0:
        raise Unsupported  # adaptive sampling: the count follows each box's size
    op = RoiAlign((int(a["pooled_height"]), int(a["pooled_width"])), ratio)
    w.emit(op, [tensor_shape(a["input"]), tensor_shape(a["rois"])], "roi_align")
