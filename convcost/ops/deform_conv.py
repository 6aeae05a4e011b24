"""Deformable convolution (torchvision's ``deform_conv2d`` / ``DeformConv2d``, ONNX
``DeformConv``): DCN (Dai et al. 2017) and, with a modulation mask, DCNv2 (Zhu et al. 2019), as
detectors use them.

Everything convcost knows of it: the op, its shape rule and formula, the torchvision op and the
ONNX node that are one, and its torch module. It has no YAML kind: a deformable convolution
reads an offset tensor (and a mask) that another layer predicts from the input, and a YAML
model is a sequence of one-input layers with no way to name that second input.

The convention (the formula's docstring says it exactly): its MACs are those of the
convolution with the same geometry, the products of the sampled values and the weights, which
is how torchvision computes it (an im2col of the sampled values, then one matrix product) and
the convolution term ptflops counts for ``DeformConv2d``; the bilinear sampling that gathers
those values, and the mask's multiplies, are other ops, never folded into the MACs. (ptflops
adds an estimate of 24 ops per output position and tap, 25 with a mask, to the same number;
fvcore, ``FlopCounterMode`` and mmcv's ``get_model_complexity_info`` have no rule for it and
count 0.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.build.registry import builds
from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.formulas._shapes import channels_first
from convcost.core.ops import (
    OpInfo,
    Pads,
    Shape,
    as_tuple,
    check_conv,
    conv_geometry,
    positive,
    resolve_padding,
)
from convcost.core.shapes import window_output
from convcost.errors import InputError, ShapeError
from convcost.frontends.onnx_tables import attrs
from convcost.frontends.onnx_tables import handles as onnx_op
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.registry import handles as torch_op
from convcost.frontends.unsupported import Unsupported
from convcost.ops.upsample import TAPS

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker
    from convcost.frontends.torch.state import WalkState

BILINEAR_READS = TAPS["bilinear"] ** 2
"""Input values one bilinear sample reads (4), as convcost counts bilinear upsampling and
``grid_sample``."""


@dataclass(frozen=True)
class DeformConv(OpInfo):
    """A 2-D deformable convolution: every kernel tap of every output position reads the input
    at its regular place moved by a learned offset, by bilinear interpolation.

    Inputs: ``x (N, C_in, H, W)``, ``offset (N, 2·offset_groups·kh·kw, H_out, W_out)`` and,
    with ``mask`` (DCNv2's modulation), ``mask (N, offset_groups·kh·kw, H_out, W_out)``.
    ``groups`` splits the channels of the product as a grouped convolution does;
    ``offset_groups`` splits the input channels into groups that share one set of offsets.
    """

    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...] = (1, 1)
    padding: Pads = ((0, 0), (0, 0))
    dilation: tuple[int, ...] = (1, 1)
    groups: int = 1
    offset_groups: int = 1
    bias: bool = False
    mask: bool = False

    def __post_init__(self) -> None:
        for what, values in (("kernel", self.kernel), ("stride", self.stride),
                             ("padding", self.padding), ("dilation", self.dilation)):
            if len(values) != 2:
                raise InputError(f"deformable convolutions are 2-D: {what} needs 2 values, "
                                 f"got {len(values)}")
        check_conv(self.in_channels, self.out_channels, self.kernel, self.stride,
                   self.dilation, self.groups)
        positive((self.offset_groups,), "offset groups")
        if any(p < 0 for pair in self.padding for p in pair):
            raise InputError(f"padding must be >= 0, got {list(self.padding)}")
        if self.in_channels % self.offset_groups:
            raise InputError(f"offset_groups={self.offset_groups} must divide the in channels "
                             f"({self.in_channels})")

    @classmethod
    def make(
        cls,
        in_channels: int,
        out_channels: int,
        kernel: int | tuple[int, ...],
        *,
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] | str = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        offset_groups: int = 1,
        bias: bool = False,
        mask: bool = False,
    ) -> DeformConv:
        """Build from torch-style arguments (ints or pairs, padding words), as ``Conv.make``."""
        k = as_tuple(kernel, 2, "kernel")
        d = as_tuple(dilation, 2, "dilation")
        return cls(in_channels, out_channels, k, as_tuple(stride, 2, "stride"),
                   resolve_padding(padding, k, d), d, groups, offset_groups, bias, mask)

    @property
    def kind(self) -> str:
        return "deform_conv"

    def label(self) -> str:
        return f"deform {self.kernel_label()}"

    def geometry(self) -> str:
        """A convolution's geometry (``3×3 s2 d2 g2``), then ``og4`` for the offset groups and
        ``mask`` for DCNv2's modulation."""
        parts = conv_geometry(self.kernel, self.stride, self.dilation, self.groups)
        if self.offset_groups != 1:
            parts.append(f"og{self.offset_groups}")
        if self.mask:
            parts.append("mask")
        return " ".join(parts)

    def group(self) -> str:
        # A deformable convolution is a convolution: its MACs are a convolution's products of
        # inputs and weights, so its row sits with the convolution rows ("Conv ..."), not in
        # "Other" (ops with no MACs of their own: resampling, norms, pointwise work). It gets
        # a row of its own rather than "Conv 3×3" because it is not the standard convolution
        # that row means (the separable rewrite and pairing never touch it), and because its
        # sampling work (other ops) is several times a standard convolution's.
        return f"Conv deform {self.kernel_label()}"

    @property
    def kernel_volume(self) -> int:
        return self.kernel[0] * self.kernel[1]

    def kernel_label(self) -> str:
        return "×".join(str(k) for k in self.kernel)

    def output_spatial(self, height: int, width: int) -> tuple[int, int]:
        """``(H_out, W_out)`` of an ``H × W`` input: a convolution's window arithmetic."""
        (top, bottom), (left, right) = self.padding
        return (window_output(height, self.kernel[0], self.stride[0], top, bottom,
                              self.dilation[0]),
                window_output(width, self.kernel[1], self.stride[1], left, right,
                              self.dilation[1]))

    def offset_shape(self, x: Shape) -> Shape:
        """The offset an input of shape ``x`` needs: ``(N, 2·offset_groups·kh·kw, H_out,
        W_out)``."""
        return (x[0], 2 * self.offset_groups * self.kernel_volume,
                *self.output_spatial(x[2], x[3]))

    def mask_shape(self, x: Shape) -> Shape:
        """The mask an input of shape ``x`` needs: ``(N, offset_groups·kh·kw, H_out, W_out)``."""
        return (x[0], self.offset_groups * self.kernel_volume, *self.output_spatial(x[2], x[3]))


# ---------------------------------------------------------------- shape and cost


@shape_rule(DeformConv)
def deform_conv_shape(op: DeformConv, inputs: tuple[Shape, ...]) -> Shape:
    want = 3 if op.mask else 2
    if len(inputs) != want:
        raise ShapeError(
            f"deformable convolution takes an input, an offset{' and a mask' if op.mask else ''}"
            f" ({want} shapes), got {len(inputs)}")
    x = inputs[0]
    channels_first(x, 4, op.in_channels, "deformable convolution")
    out = (x[0], op.out_channels, *op.output_spatial(x[2], x[3]))
    for what, got, need in (("offset", inputs[1], op.offset_shape(x)),
                            ("mask", inputs[2] if op.mask else None, op.mask_shape(x))):
        if got is not None and tuple(got) != need:
            raise ShapeError(
                f"deformable convolution {op.kernel_label()} with {op.offset_groups} offset "
                f"group(s) on input {list(x)} needs a {what} of shape {list(need)}, got "
                f"{list(got)}")
    return out


@formula(DeformConv)
def deform_conv(op: DeformConv, inputs: tuple[Shape, ...]) -> Cost:
    """With ``P = N·H_out·W_out`` output positions and ``K = kh·kw`` kernel taps:

    * MACs = ``P·C_out·(C_in/groups)·K``: the convolution of the same geometry (the products
      of the sampled values and the weights), as torchvision computes it (an im2col of the
      sampled values, then a matrix product) and as ptflops' convolution term counts it;
    * weights = ``C_out·(C_in/groups)·K``; bias = ``C_out`` with a bias;
    * other ops = ``P·K·C_in·(4 + mask)`` + ``P·C_out`` with a bias: every output position,
      kernel tap and input channel is one bilinear sample of 4 reads (convcost's count for
      bilinear upsampling and ``grid_sample``), plus one multiply by the mask with DCNv2's
      modulation; and one bias add per output element, as a convolution's.

    Computing the sampling coordinates from the offsets (a few ops per position, tap and
    offset group) is not counted, as a convolution's index arithmetic is not.
    """
    out = deform_conv_shape(op, inputs)
    positions = out[0] * out[2] * out[3]
    per_input = op.in_channels // op.groups
    samples = positions * op.kernel_volume * op.in_channels
    return Cost(
        output_shape=out,
        macs=numel(out) * per_input * op.kernel_volume,
        weights=op.out_channels * per_input * op.kernel_volume,
        bias=op.out_channels if op.bias else 0,
        other_ops=samples * (BILINEAR_READS + (1 if op.mask else 0))
        + (numel(out) if op.bias else 0),
    )


# ---------------------------------------------------------------- torch


@torch_op("torchvision.deform_conv2d")
def from_torchvision(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """``torchvision::deform_conv2d(input, weight, offset, mask, bias, stride_h, stride_w,
    pad_h, pad_w, dilation_h, dilation_w, groups, offset_groups, use_mask)``.

    torchvision passes a fresh zero bias when the module has none and a dummy ``(N, 1)`` mask
    without ``use_mask``: a bias counts when it is a parameter or buffer (or made of them), the
    mask only with ``use_mask``."""
    x, weight, offset, bias = a["input"], a["weight"], a["offset"], a["bias"]
    groups = int(a["groups"])
    use_mask = bool(a["use_mask"])
    has_bias = bias is not None and w.weightish(bias)
    pad_h, pad_w = int(a["pad_h"]), int(a["pad_w"])
    op = DeformConv(
        in_channels=int(weight.shape[1]) * groups,
        out_channels=int(weight.shape[0]),
        kernel=tensor_shape(weight)[2:],
        stride=(int(a["stride_h"]), int(a["stride_w"])),
        padding=((pad_h, pad_h), (pad_w, pad_w)),
        dilation=(int(a["dilation_h"]), int(a["dilation_w"])),
        groups=groups,
        offset_groups=int(a["offset_groups"]),
        bias=has_bias,
        mask=use_mask,
    )
    inputs = [tensor_shape(t) for t in (x, offset, a["mask"] if use_mask else None)
              if t is not None]
    if deform_conv_shape(op, tuple(inputs)) != tensor_shape(out):
        raise Unsupported
    w.emit(op, inputs, "deform_conv", weight, [bias] if has_bias else [])


# ---------------------------------------------------------------- ONNX


@onnx_op("DeformConv")
def from_onnx(w: Walker, node: Any) -> None:
    """ONNX ``DeformConv`` (opset 19): inputs ``X, W, offset, B?, mask?``; attributes
    ``dilations, group, kernel_shape, offset_group, pads, strides``. The output shape is the
    convolution's arithmetic (the formula's), not read from shape inference; the offset's and
    the mask's shapes, when inference leaves them unknown, are the ones the geometry needs."""
    weight, offset = w.inp(node, 1), w.inp(node, 2)
    bias, mask = w.inp(node, 3), w.inp(node, 4)
    if weight is None or offset is None:
        raise Unsupported
    xs, ws = w.shape(node.input[0], node), w.shape(weight, node)
    if len(xs) != 4 or len(ws) != 4:
        raise Unsupported  # convcost's op is 2-D
    a = attrs(node)
    group = int(a.get("group", 1))
    pads = [int(p) for p in a.get("pads", [0, 0, 0, 0])]
    if "kernel_shape" in a and tuple(int(k) for k in a["kernel_shape"]) != ws[2:]:
        raise Unsupported
    if bias is not None and not w.param(bias):
        bias = None  # computed, as the Conv handler reads it
    op = DeformConv(
        in_channels=xs[1],
        out_channels=ws[0],
        kernel=ws[2:],
        stride=tuple(int(s) for s in a.get("strides", [1, 1])),
        padding=((pads[0], pads[2]), (pads[1], pads[3])),
        dilation=tuple(int(d) for d in a.get("dilations", [1, 1])),
        groups=group,
        offset_groups=int(a.get("offset_group", 1)),
        bias=bias is not None,
        mask=mask is not None,
    )
    if ws[1] * group != xs[1]:
        raise Unsupported

    def known(name: str, implied: Shape) -> Shape:
        shape = w.g.shapes.get(w.resolve(name))
        return tuple(shape) if shape is not None else implied

    inputs = [xs, known(offset, op.offset_shape(xs))]
    if mask is not None:
        inputs.append(known(mask, op.mask_shape(xs)))
    deform_conv_shape(op, tuple(inputs))  # a mismatch is a ShapeError: listed as uncounted
    w.emit(node, op, inputs, "deform_conv", weight if w.param(weight) else None, (bias,))


# ---------------------------------------------------------------- torch module


@builds(DeformConv)
def module(op: DeformConv, rank: int) -> Any:
    """torchvision's ``DeformConv2d`` fed zero offsets (and, for DCNv2, a mask of ones) made
    from the input's shape: one input, and exactly this op's work (a zero offset reads the
    same four values per sample as any other; making the zeros is a fill, no arithmetic)."""
    if rank != 3:
        raise TypeError(f"a deformable convolution takes (C, H, W) inputs, not rank {rank}")
    if any(lo != hi for lo, hi in op.padding):
        raise TypeError("torchvision's deform_conv2d pads both sides alike")
    return _zero_offset_module()(op)


@functools.cache
def _zero_offset_module() -> Any:
    from torch import Tensor, nn
    from torchvision.ops import DeformConv2d

    class ZeroOffsetDeformConv(nn.Module):
        """``DeformConv2d`` with zero offsets (and a unit mask) made per forward."""

        def __init__(self, op: DeformConv) -> None:
            super().__init__()
            self.op = op
            self.conv = DeformConv2d(
                op.in_channels, op.out_channels, op.kernel, stride=op.stride,
                padding=tuple(lo for lo, _ in op.padding), dilation=op.dilation,
                groups=op.groups, bias=op.bias)

        def forward(self, x: Tensor) -> Tensor:
            shape = tuple(int(s) for s in x.shape)
            offset = x.new_zeros(self.op.offset_shape(shape))
            mask = x.new_ones(self.op.mask_shape(shape)) if self.op.mask else None
            out: Tensor = self.conv(x, offset, mask)
            return out

    return ZeroOffsetDeformConv
