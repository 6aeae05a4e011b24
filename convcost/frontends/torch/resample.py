"""Handlers of resampling and detector ops: upsampling in every mode (and ``_unsafe_index``,
as torch decomposes nearest upsampling), ``grid_sample``, torchvision's ``roi_align`` and
``nms``."""

from __future__ import annotations

from typing import Any

from convcost.core.ops import GridSample, Nms, RoiAlign, Upsample
from convcost.frontends.torch.registry import Unsupported, handles
from convcost.frontends.torch.state import WalkState, shape_of

UPSAMPLE_OPS = {
    "aten.upsample_nearest1d": "nearest", "aten.upsample_nearest2d": "nearest",
    "aten.upsample_nearest3d": "nearest", "aten._upsample_nearest_exact1d": "nearest-exact",
    "aten._upsample_nearest_exact2d": "nearest-exact",
    "aten._upsample_nearest_exact3d": "nearest-exact", "aten.upsample_linear1d": "linear",
    "aten.upsample_bilinear2d": "bilinear", "aten.upsample_bicubic2d": "bicubic",
    "aten.upsample_trilinear3d": "trilinear", "aten._upsample_bilinear2d_aa": "bilinear",
    "aten._upsample_bicubic2d_aa": "bicubic",
}


def _first_tensor(w: WalkState, a: dict[str, Any]) -> Any:
    for v in a.values():
        if isinstance(v, w.torch.Tensor):
            return v
    raise Unsupported


@handles(*UPSAMPLE_OPS)
def _upsample(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    x = _first_tensor(w, a)
    if not isinstance(out, w.torch.Tensor) or out.dim() != x.dim():
        raise Unsupported
    mode = UPSAMPLE_OPS[name]
    corners = a.get("align_corners")
    op = Upsample(mode, None if corners is None else bool(corners), size=shape_of(out)[2:],
                  antialias=name.endswith("_aa"))
    w.emit(op, [shape_of(x)], "upsample")


@handles("aten._unsafe_index")
def _unsafe_index(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """Nearest upsampling as torch decomposes it: a gather of (N, C, *spatial) by index
    vectors on the spatial dims only. Any other indexing is a copy."""
    x, indices = a["self"], a.get("indices") or []
    spatial = [i for i in indices[2:]]
    nearest = (
        isinstance(out, w.torch.Tensor)
        and x.dim() >= 3 and out.dim() == x.dim() and out.shape[:2] == x.shape[:2]
        and len(indices) >= 3 and indices[0] is None and indices[1] is None
        and all(i is not None for i in spatial)
    )
    if not nearest:
        w.ignore(name)
        return
    w.emit(Upsample("nearest", size=shape_of(out)[2:]), [shape_of(x)], "upsample")


_GRID_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}


@handles("aten.grid_sampler_2d", "aten.grid_sampler_3d", "aten.cudnn_grid_sampler")
def _grid_sample(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    x, grid = _first_tensor(w, a), a["grid"]
    mode = _GRID_MODES[int(a.get("interpolation_mode") or 0)]
    w.emit(GridSample(mode), [shape_of(x), shape_of(grid)], "grid_sample")


@handles("torchvision.roi_align")
def _roi_align(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    ratio = int(a["sampling_ratio"])
    if ratio <= 0:
        raise Unsupported  # adaptive sampling: the count follows each box's size
    op = RoiAlign((int(a["pooled_height"]), int(a["pooled_width"])), ratio)
    w.emit(op, [shape_of(a["input"]), shape_of(a["rois"])], "roi_align")


@handles("torchvision.nms")
def _nms(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    w.emit(Nms(), [shape_of(a["dets"])], "nms")
