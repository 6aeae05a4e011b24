"""The separable rewrite of the MobileNet paper, both ways.

standard k×k conv  <->  depthwise k×k (same stride, padding, dilation) + pointwise 1×1
"""

from __future__ import annotations

from dataclasses import dataclass

from convcost.core.cost import Cost
from convcost.core.dtypes import DType
from convcost.core.ops import Conv, ConvRole, Linear, Shape
from convcost.core.registry import cost_of
from convcost.errors import InputError


def can_separate(conv: Conv) -> bool:
    """A k×k convolution (kernel larger than 1×1, not transposed) that is not depthwise: a
    standard one, or a grouped one (whose groups the pointwise half keeps)."""
    return (conv.role in (ConvRole.STANDARD, ConvRole.GROUPED) and not conv.transposed
            and conv.kernel_volume > 1)


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
    """Depthwise (k×k, same stride/padding/dilation) then pointwise (1×1) replacing ``conv``.

    A grouped conv (groups g) becomes a depthwise conv and a pointwise conv with groups g: each
    group's standard conv made separable."""
    if conv.transposed or conv.role is ConvRole.DEPTHWISE:
        raise InputError(
            "only a standard or grouped (not depthwise, not transposed) convolution has a "
            "separable form"
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
        groups=conv.groups,
        bias=conv.bias,
    )
    return dw, pw


def to_standard(dw: Conv, pw: Conv | Linear) -> Conv:
    """The one standard convolution a depthwise + pointwise pair stands in for. The pointwise
    half may be a linear layer over the channels (a channels-last block, as in ConvNeXt)."""
    if isinstance(pw, Linear):
        if dw.role is not ConvRole.DEPTHWISE or dw.transposed or \
                pw.in_features != dw.out_channels:
            raise InputError("not a depthwise conv + linear layer over its channels")
        out, bias = pw.out_features, pw.bias
    elif not is_separable_pair(dw, pw):
        raise InputError("not a depthwise + pointwise pair")
    else:
        out, bias = pw.out_channels, pw.bias
    return Conv(
        in_channels=dw.in_channels,
        out_channels=out,
        kernel=dw.kernel,
        stride=dw.stride,
        padding=dw.padding,
        dilation=dw.dilation,
        bias=bias,
    )


def to_dense(dw: Conv) -> Conv:
    """A depthwise convolution without a pointwise partner, made dense: the standard conv
    with the same kernel, stride, padding and channels (groups 1)."""
    if dw.role is not ConvRole.DEPTHWISE or dw.transposed:
        raise InputError("not a depthwise convolution")
    return Conv(
        in_channels=dw.in_channels,
        out_channels=dw.out_channels,
        kernel=dw.kernel,
        stride=dw.stride,
        padding=dw.padding,
        dilation=dw.dilation,
        bias=dw.bias,
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
