"""The separable rewrite of the MobileNet paper, both ways.

standard k×k conv  <->  depthwise k×k (same stride, padding, dilation) + pointwise 1×1
"""

from __future__ import annotations

from dataclasses import dataclass

from convcost.core.cost import Cost
from convcost.core.dtypes import DType
from convcost.core.ops import Conv, ConvRole, Shape
from convcost.core.registry import cost_of
from convcost.errors import InputError


def can_separate(conv: Conv) -> bool:
    """A standard convolution with a kernel larger than 1×1 (groups 1, not transposed)."""
    return conv.role is ConvRole.STANDARD and not conv.transposed


def is_separable_pair(dw: Conv, pw: Conv) -> bool:
    """A depthwise convolution whose output feeds a pointwise one."""
    return (
        dw.role is ConvRole.DEPTHWISE
        and not dw.transposed
        and pw.role is ConvRole.POINTWISE
        and pw.stride == (1,) * pw.dims
        and pw.dims == dw.dims
        and pw.in_channels == dw.out_channels
    )


def to_separable(conv: Conv, depth_multiplier: int = 1) -> tuple[Conv, Conv]:
    """Depthwise (k×k, same stride/padding/dilation) then pointwise (1×1) replacing ``conv``."""
    if conv.transposed or conv.groups != 1:
        raise InputError(
            "only a standard (groups=1, not transposed) convolution has a separable form"
        )
    if depth_multiplier < 1:
        raise InputError(f"depth multiplier must be >= 1, got {depth_multiplier}")
    mid = conv.in_channels * depth_multiplier
    dw = Conv(
        in_channels=conv.in_channels,
        out_channels=mid,
        kernel=conv.kernel,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.in_channels,
        bias=conv.bias,
    )
    ones = (1,) * conv.dims
    pw = Conv(
        in_channels=mid,
        out_channels=conv.out_channels,
        kernel=ones,
        stride=ones,
        padding=tuple((0, 0) for _ in ones),
        dilation=ones,
        bias=conv.bias,
    )
    return dw, pw


def to_standard(dw: Conv, pw: Conv) -> Conv:
    """The one standard convolution a depthwise + pointwise pair stands in for."""
    if not is_separable_pair(dw, pw):
        raise InputError("not a depthwise + pointwise pair")
    return Conv(
        in_channels=dw.in_channels,
        out_channels=pw.out_channels,
        kernel=dw.kernel,
        stride=dw.stride,
        padding=dw.padding,
        dilation=dw.dilation,
        bias=pw.bias,
    )


def paper_ratio(kernel: tuple[int, ...], out_channels: int, depth_multiplier: int = 1) -> float:
    """The paper's reduction 1/N + 1/D_K² (kernel volume for 1-D and 3-D; times the depth
    multiplier, which widens both halves of the separable form)."""
    volume = 1
    for k in kernel:
        volume *= k
    return depth_multiplier * (1 / out_channels + 1 / volume)


@dataclass(frozen=True)
class Comparison:
    """One standard convolution beside its depthwise-separable form."""

    input_shape: Shape
    dtype: DType
    standard_op: Conv
    depthwise_op: Conv
    pointwise_op: Conv
    standard: Cost
    depthwise: Cost
    pointwise: Cost
    depth_multiplier: int

    @property
    def separable(self) -> Cost:
        return self.depthwise + self.pointwise

    @property
    def ratio_exact(self) -> float:
        """Separable MACs over standard MACs, as counted."""
        return self.separable.macs / self.standard.macs

    @property
    def ratio_formula(self) -> float:
        return paper_ratio(
            self.standard_op.kernel, self.standard_op.out_channels, self.depth_multiplier
        )

    @property
    def fewer(self) -> float:
        """How many times fewer MACs the separable form needs."""
        return self.standard.macs / self.separable.macs


def compare(
    conv: Conv, input_shape: Shape, *, depth_multiplier: int = 1, dtype: DType = DType.FLOAT32
) -> Comparison:
    dw, pw = to_separable(conv, depth_multiplier)
    standard = cost_of(conv, [input_shape], dtype)
    depthwise = cost_of(dw, [input_shape], dtype)
    pointwise = cost_of(pw, [depthwise.output_shape], dtype)
    return Comparison(
        input_shape=input_shape,
        dtype=dtype,
        standard_op=conv,
        depthwise_op=dw,
        pointwise_op=pw,
        standard=standard,
        depthwise=depthwise,
        pointwise=pointwise,
        depth_multiplier=depth_multiplier,
    )
