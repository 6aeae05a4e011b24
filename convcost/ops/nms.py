"""Non-maximum suppression (torchvision's ``nms``, the last step of a detector).

Everything convcost knows of it: the op, its shape rule and formula, and the torchvision op
that is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.core.cost import Cost
from convcost.core.formula_table import formula, shape_rule
from convcost.core.ops import OpInfo, Shape
from convcost.errors import ShapeError
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.registry import handles as torch_op

if TYPE_CHECKING:
    from convcost.frontends.torch.state import WalkState


@dataclass(frozen=True)
class Nms(OpInfo):
    """Non-maximum suppression of ``(n, 4)`` boxes: at most one IoU test per pair."""

    @property
    def kind(self) -> str:
        return "nms"


@shape_rule(Nms)
def nms_shape(op: Nms, inputs: tuple[Shape, ...]) -> Shape:
    boxes = inputs[0] if inputs else ()
    if len(boxes) != 2 or boxes[1] != 4:
        raise ShapeError(f"nms takes boxes of shape (n, 4), got {list(boxes)}")
    return (boxes[0],)


@formula(Nms)
def nms(op: Nms, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: one IoU test per pair of boxes, n·(n−1)/2 (every pair tested; boxes already
    suppressed are skipped at run time, so this is the most it does)."""
    (n,) = nms_shape(op, inputs)
    return Cost(output_shape=(n,), other_ops=n * (n - 1) // 2)


@torch_op("torchvision.nms")
def from_torchvision(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    w.emit(Nms(), [tensor_shape(a["dets"])], "nms")
