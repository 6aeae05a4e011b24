"""Upsampling (``nn.Upsample``, ``F.interpolate``, ONNX ``Resize``): the spatial dimensions of
an ``(N, C, *spatial)`` tensor resampled by nearest-neighbour or interpolation.

Everything convcost knows of it: the op, its shape rule and formula, the YAML kind
``upsample``, the aten ops and ONNX nodes that are one, and its torch module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.build.registry import builds
from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.formulas._shapes import one
from convcost.core.ops import OpInfo, Shape, positive
from convcost.errors import InputError, ShapeError
from convcost.frontends.onnx_tables import attrs, decode
from convcost.frontends.onnx_tables import handles as onnx_op
from convcost.frontends.torch.args import first_tensor, tensor_shape
from convcost.frontends.torch.registry import handles as torch_op
from convcost.frontends.unsupported import Unsupported
from convcost.frontends.yaml_format import MAX_SIZE, SpecNode, yaml_kind
from convcost.frontends.yaml_nodes import YSeq
from convcost.frontends.yaml_schema import BOOLEAN, SIZES, described, one_of_words

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker
    from convcost.frontends.torch.state import WalkState
    from convcost.frontends.yaml_compile import Compiler, Opts

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")
_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


@dataclass(frozen=True)
class Upsample(OpInfo):
    """Resampling of the spatial dimensions of a ``(N, C, *spatial)`` tensor by interpolation.

    ``mode``: ``nearest`` (and ``nearest-exact``: any number of spatial dims), ``linear``
    (1-D), ``bilinear`` or ``bicubic`` (2-D), ``trilinear`` (3-D). ``size``: the output's
    spatial size; without it, ``scale`` (one factor per spatial dim, or one for all) gives
    ``floor(input x scale)`` as torch does. ``align_corners`` changes where samples fall, not
    how many are read; ``antialias`` (downsampling with a widened filter) reads more.
    """

    mode: str = "nearest"
    align_corners: bool | None = None
    size: tuple[int, ...] = ()
    scale: tuple[float, ...] = ()
    antialias: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(
                f"unknown upsampling mode {self.mode!r}; use one of {', '.join(MODES)}"
            )
        if not self.size and not self.scale:
            raise InputError("upsampling needs an output size or a scale factor")
        if self.size:
            positive(self.size, "upsampling size")
        if any(not s > 0 for s in self.scale):
            raise InputError(f"upsampling scale must be > 0, got {list(self.scale)}")

    @property
    def kind(self) -> str:
        return "upsample"

    def label(self) -> str:
        return f"up {self.mode}"

    def geometry(self) -> str:
        if self.size:
            return "×".join(map(str, self.size))
        return "x" + "×".join(map(str, self.scale))

    @property
    def dims(self) -> int | None:
        """Spatial dims the mode works on; None for nearest (any)."""
        return _DIMS.get(self.mode)


# ---------------------------------------------------------------- shape and cost

TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2,
        "bicubic": 4}
"""Input samples an interpolation reads per output element and spatial dimension."""


def _taps(mode: str, n_in: int, n_out: int, antialias: bool) -> int:
    base = TAPS[mode]
    if not antialias or n_out >= n_in or base == 1:
        return base
    # an antialiased filter is widened by the downsampling factor (torch's _upsample_*_aa)
    support = base / 2 * n_in / n_out
    return 2 * math.ceil(support) + 1


@shape_rule(Upsample)
def upsample_shape(op: Upsample, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "upsampling")
    spatial = x[2:]
    if len(x) < 3 or (op.dims is not None and len(spatial) != op.dims):
        want = f"{op.dims + 2}-D" if op.dims is not None else "an (N, C, *spatial)"
        raise ShapeError(f"{op.mode} upsampling expects {want} input, got shape {list(x)}")
    if op.size:
        if len(op.size) != len(spatial):
            raise ShapeError(f"upsampling size {list(op.size)} does not match input {list(x)}")
        out_spatial = op.size
    else:
        scale = op.scale * len(spatial) if len(op.scale) == 1 else op.scale
        if len(scale) != len(spatial):
            raise ShapeError(f"upsampling scale {list(op.scale)} does not match input {list(x)}")
        out_spatial = tuple(math.floor(n * s) for n, s in zip(spatial, scale, strict=True))
        if any(n < 1 for n in out_spatial):
            raise ShapeError(f"upsampling {list(x)} by {list(op.scale)} leaves no output")
    return (*x[:2], *out_spatial)


@formula(Upsample)
def upsample(op: Upsample, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output element, one per input sample the interpolation reads (nearest 1,
    linear 2, bilinear 4, bicubic 16, trilinear 8), fvcore's count for nearest and bilinear
    extended to every mode."""
    out = upsample_shape(op, inputs)
    taps = 1
    for n_in, n_out in zip(inputs[0][2:], out[2:], strict=True):
        taps *= _taps(op.mode, n_in, n_out, op.antialias)
    return Cost(output_shape=out, other_ops=numel(out) * taps)


# ---------------------------------------------------------------- YAML: `upsample`


_FACTOR = {"type": "number", "exclusiveMinimum": 0}


@yaml_kind("upsample", {
    "mode": described(one_of_words(MODES), "interpolation (default nearest; linear 1-D, bilinear "
                                           "and bicubic 2-D, trilinear 3-D)"),
    "scale": {"description": "a factor, or one per spatial dimension (output = floor(input x "
                             "factor))",
              "anyOf": [_FACTOR, {"type": "string"},
                        {"type": "array", "minItems": 1, "maxItems": 3,
                         "items": {"anyOf": [_FACTOR, {"type": "string"}]}}]},
    "size": described(SIZES, "the output spatial size"),
    "align_corners": described(BOOLEAN, "torch's align_corners (interpolating modes)"),
}, constraints={"oneOf": [{"required": ["scale"]}, {"required": ["size"]}]},
   description="resampling of the spatial dimensions (nearest or interpolating)")
def from_yaml(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims = c.spatial(o, shape)
    mode = c.word(o, "mode", MODES, "nearest")
    if o.has("scale") == o.has("size"):
        raise c.err(o.pos, o.key, "upsample needs one of 'scale' (a factor, or one per "
                    "spatial dimension) and 'size' (the output size)")
    size: tuple[int, ...] = ()
    scale: tuple[float, ...] = ()
    if o.has("size"):
        size = c.ints(o.values["size"], o.sub("size"), dims, "size")
    else:
        node = o.values["scale"]
        items = node.items if isinstance(node, YSeq) else [node]
        if isinstance(node, YSeq) and len(items) not in (1, dims):
            raise c.err(node.pos, o.sub("scale"), f"scale needs 1 or {dims} value(s), "
                        f"got {len(items)}")
        for i, item in enumerate(items):
            key = o.sub("scale") + (f"[{i}]" if isinstance(node, YSeq) else "")
            v, _ = c.number(item, key, shape[0])
            if not 0 < v <= MAX_SIZE:
                raise c.err(item.pos, key, f"scale must be a positive factor, got {v}")
            scale += (float(v),)
    align = c.boolean(o, "align_corners", False) if o.has("align_corners") else None
    if align is None and mode in _INTERPOLATING:
        align = False  # torch's default for the interpolating modes
    if scale:  # the output size torch computes, floor(n × s), so records match torch's
        per = scale * dims if len(scale) == 1 else scale
        size = tuple(math.floor(n * f) for n, f in zip(shape[1:], per, strict=True))
        if any(n < 1 for n in size):
            raise c.err(o.where("scale"), o.sub("scale"), f"upsampling {list(shape)} "
                        f"by {list(scale)} leaves no output")
    return c.leaf(name, lambda: Upsample(mode, align, size=size), shape, o.pos, o.key)


# ---------------------------------------------------------------- torch

ATEN_MODES = {
    "aten.upsample_nearest1d": "nearest", "aten.upsample_nearest2d": "nearest",
    "aten.upsample_nearest3d": "nearest", "aten._upsample_nearest_exact1d": "nearest-exact",
    "aten._upsample_nearest_exact2d": "nearest-exact",
    "aten._upsample_nearest_exact3d": "nearest-exact", "aten.upsample_linear1d": "linear",
    "aten.upsample_bilinear2d": "bilinear", "aten.upsample_bicubic2d": "bicubic",
    "aten.upsample_trilinear3d": "trilinear", "aten._upsample_bilinear2d_aa": "bilinear",
    "aten._upsample_bicubic2d_aa": "bicubic",
}


@torch_op(*ATEN_MODES)
def from_aten(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    x = first_tensor(w.torch, a)
    if not isinstance(out, w.torch.Tensor) or out.dim() != x.dim():
        raise Unsupported
    corners = a.get("align_corners")
    op = Upsample(ATEN_MODES[name], None if corners is None else bool(corners),
                  size=tensor_shape(out)[2:], antialias=name.endswith("_aa"))
    w.emit(op, [tensor_shape(x)], "upsample")


@torch_op("aten._unsafe_index")
def from_unsafe_index(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """Nearest upsampling as torch decomposes it: a gather of (N, C, *spatial) by index
    vectors on the spatial dims only. Any other indexing is a copy."""
    x, indices = a["self"], a.get("indices") or []
    nearest = (
        isinstance(out, w.torch.Tensor)
        and x.dim() >= 3 and out.dim() == x.dim() and out.shape[:2] == x.shape[:2]
        and len(indices) >= 3 and indices[0] is None and indices[1] is None
        and all(i is not None for i in indices[2:])
    )
    if not nearest:
        w.ignore(name)
        return
    w.emit(Upsample("nearest", size=tensor_shape(out)[2:]), [tensor_shape(x)], "upsample")


# ---------------------------------------------------------------- ONNX

_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


@onnx_op("Resize", "Upsample", data_inputs=1)
def from_onnx(w: Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    dims = len(xs) - 2
    a = attrs(node)
    mode = str(decode(a.get("mode", "nearest")))
    name = {"nearest": "nearest", "linear": _LINEAR.get(dims), "bilinear": _LINEAR.get(dims),
            "cubic": "bicubic" if dims == 2 else None}.get(mode)
    if dims < 1 or name is None:
        raise Unsupported
    out = w.g.shapes.get(node.output[0])
    if out is None:  # from the scales, as ONNX and torch round them: floor(n x s)
        scales = w.value(node.input[2] if node.op_type == "Resize" and len(node.input) > 2
                         else node.input[1]) if len(node.input) > 1 else None
        if scales is None or len(list(scales)) != len(xs):
            raise Unsupported
        out = tuple(math.floor(n * float(s)) for n, s in zip(xs, list(scales), strict=True))
    if tuple(out[:2]) != xs[:2]:
        raise Unsupported  # resizing the batch or the channels is not an upsampling
    transform = str(decode(a.get("coordinate_transformation_mode", "half_pixel")))
    op = Upsample(name, align_corners=None if name == "nearest" else
                  transform == "align_corners", size=tuple(out[2:]),
                  antialias=bool(a.get("antialias", 0)))
    w.emit(node, op, [xs], "upsample")


# ---------------------------------------------------------------- torch module


@builds(Upsample)
def module(op: Upsample, rank: int) -> Any:
    from torch import nn

    if op.antialias:
        raise TypeError("nn.Upsample has no antialiased mode")
    scale = (op.scale[0] if len(op.scale) == 1 else op.scale) if op.scale else None
    return nn.Upsample(size=op.size or None, scale_factor=None if op.size else scale,
                       mode=op.mode, align_corners=op.align_corners)
