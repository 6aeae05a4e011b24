"""Grid sampling (``F.grid_sample``, ONNX ``GridSample``): an input read at the points of a
grid, as spatial transformers and deformable heads do.

Everything convcost knows of it: the op, its shape rule and formula, the aten ops and ONNX
node that are one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.ops import OpInfo, Shape
from convcost.errors import InputError, ShapeError
from convcost.frontends.onnx_tables import attrs, decode
from convcost.frontends.onnx_tables import handles as onnx_op
from convcost.frontends.torch.args import first_tensor, tensor_shape
from convcost.frontends.torch.registry import handles as torch_op
from convcost.frontends.unsupported import Unsupported
from convcost.ops.upsample import TAPS

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker
    from convcost.frontends.torch.state import WalkState

MODES = ("bilinear", "nearest", "bicubic")


@dataclass(frozen=True)
class GridSample(OpInfo):
    """``grid_sample``: an input ``(N, C, *spatial)`` sampled at the points of a grid
    ``(N, *out_spatial, dims)``; ``mode`` is ``bilinear`` (trilinear in 3-D), ``nearest`` or
    ``bicubic``."""

    mode: str = "bilinear"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"unknown grid_sample mode {self.mode!r}")

    @property
    def kind(self) -> str:
        return "grid_sample"


@shape_rule(GridSample)
def grid_sample_shape(op: GridSample, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) != 2:
        raise ShapeError(f"grid_sample takes an input and a grid, got {len(inputs)} shapes")
    x, grid = inputs
    dims = len(x) - 2
    if dims not in (2, 3) or len(grid) != dims + 2 or grid[-1] != dims or grid[0] != x[0]:
        raise ShapeError(f"grid_sample: input {list(x)} and grid {list(grid)} do not match")
    return (x[0], x[1], *grid[1:-1])


@formula(GridSample)
def grid_sample(op: GridSample, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output element, one per input sample read (bilinear 4, trilinear 8,
    bicubic 16, nearest 1)."""
    out = grid_sample_shape(op, inputs)
    taps = TAPS[op.mode] ** (len(inputs[0]) - 2)
    return Cost(output_shape=out, other_ops=numel(out) * taps)


@torch_op("aten.grid_sampler_2d", "aten.grid_sampler_3d", "aten.cudnn_grid_sampler")
def from_aten(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    x, grid = first_tensor(w.torch, a), a["grid"]
    mode = MODES[int(a.get("interpolation_mode") or 0)]
    w.emit(GridSample(mode), [tensor_shape(x), tensor_shape(grid)], "grid_sample")


_ONNX_MODES = {"linear": "bilinear", "bilinear": "bilinear", "nearest": "nearest",
               "cubic": "bicubic", "bicubic": "bicubic"}


@onnx_op("GridSample")
def from_onnx(w: Walker, node: Any) -> None:
    """ONNX ``GridSample`` (opset 16: ``bilinear``/``bicubic``; 20: ``linear``/``cubic``)."""
    mode = _ONNX_MODES.get(str(decode(attrs(node).get("mode", "linear"))))
    if mode is None:
        raise Unsupported
    xs, gs = w.shape(node.input[0], node), w.shape(node.input[1], node)
    w.emit(node, GridSample(mode), [xs, gs], "grid_sample")
