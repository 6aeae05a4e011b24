"""The layers of a convolutional network: convolution, linear, normalisation, activation,
pooling, joins, flatten and dropout."""

from __future__ import annotations

from dataclasses import dataclass

from convcost._compat import StrEnum
from convcost.core.ops.base import (
    Kind,
    OpInfo,
    Pads,
    as_tuple,
    check_conv,
    conv_geometry,
    positive,
    resolve_padding,
    window_geometry,
)
from convcost.errors import InputError


class ConvRole(StrEnum):
    """What a convolution is, as the paper's Table 2 groups them."""

    STANDARD = "standard"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    GROUPED = "grouped"



@dataclass(frozen=True)
class Conv(OpInfo):
    """A 1-D, 2-D or 3-D convolution (or transposed convolution)."""

    in_channels: int
    out_channels: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Pads
    dilation: tuple[int, ...]
    groups: int = 1
    bias: bool = False
    transposed: bool = False
    output_padding: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        dims = len(self.kernel)
        if dims not in (1, 2, 3):
            raise InputError(f"convolutions have 1, 2 or 3 spatial dimensions, not {dims}")
        check_conv(self.in_channels, self.out_channels, self.kernel, self.stride,
                   self.dilation, self.groups)
        if self.transposed:
            op = self.output_padding or (0,) * dims
            if len(op) != dims:
                raise InputError(f"output_padding needs {dims} value(s)")
            for o, s, d in zip(op, self.stride, self.dilation, strict=True):
                if o < 0 or (o >= s and o >= d):
                    raise InputError(
                        f"output_padding {o} must be smaller than either stride or dilation"
                    )
            if any(lo != hi for lo, hi in self.padding):
                raise InputError("transposed convolutions take symmetric padding only")
            object.__setattr__(self, "output_padding", op)

    @classmethod
    def make(
        cls,
        in_channels: int,
        out_channels: int,
        kernel: int | tuple[int, ...],
        *,
        dims: int = 2,
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] | str = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = False,
        transposed: bool = False,
        output_padding: int | tuple[int, ...] = 0,
    ) -> Conv:
        """Build from torch-style arguments (ints or per-dimension tuples, padding words)."""
        if not isinstance(kernel, int):
            dims = len(kernel)
        k = as_tuple(kernel, dims, "kernel")
        d = as_tuple(dilation, dims, "dilation")
        if transposed and isinstance(padding, str) and padding.strip().lower() != "valid":
            raise InputError("transposed convolutions take integer padding (or 'valid')")
        return cls(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel=k,
            stride=as_tuple(stride, dims, "stride"),
            padding=resolve_padding(padding, k, d),
            dilation=d,
            groups=groups,
            bias=bias,
            transposed=transposed,
            output_padding=as_tuple(output_padding, dims, "output_padding") if transposed else (),
        )

    @property
    def kind(self) -> Kind:
        return Kind.CONV_TRANSPOSE if self.transposed else Kind.CONV

    def label(self) -> str:
        k = self.kernel_label()
        if self.transposed:
            return f"convT {k}"
        return {
            ConvRole.DEPTHWISE: f"dw {k}",
            ConvRole.POINTWISE: f"pw {k}",
            ConvRole.GROUPED: f"gconv {k}",
            ConvRole.STANDARD: f"conv {k}",
        }[self.role]

    def geometry(self) -> str:
        return " ".join(conv_geometry(self.kernel, self.stride, self.dilation, self.groups))

    def group(self) -> str:
        k = self.kernel_label()
        if self.transposed:
            return f"Conv transposed {k}"
        return {
            ConvRole.DEPTHWISE: f"Conv DW {k}",
            ConvRole.GROUPED: f"Conv grouped {k}",
        }.get(self.role, f"Conv {k}")

    @property
    def dims(self) -> int:
        return len(self.kernel)

    @property
    def kernel_volume(self) -> int:
        out = 1
        for k in self.kernel:
            out *= k
        return out

    @property
    def depth_multiplier(self) -> int:
        """Output channels per input channel of a depthwise convolution."""
        return self.out_channels // self.in_channels

    @property
    def role(self) -> ConvRole:
        if self.groups == 1:
            if self.kernel_volume == 1 and not self.transposed:
                return ConvRole.POINTWISE
            return ConvRole.STANDARD
        if self.groups == self.in_channels:
            return ConvRole.DEPTHWISE
        return ConvRole.GROUPED

    @property
    def symmetric_padding(self) -> tuple[int, ...] | None:
        """Padding per dimension when every side is padded alike, else None."""
        if all(lo == hi for lo, hi in self.padding):
            return tuple(lo for lo, _ in self.padding)
        return None

    def kernel_label(self) -> str:
        return "×".join(str(k) for k in self.kernel)


@dataclass(frozen=True)
class Linear(OpInfo):
    in_features: int
    out_features: int
    bias: bool = True

    def __post_init__(self) -> None:
        positive((self.in_features,), "in features")
        positive((self.out_features,), "out features")

    @property
    def kind(self) -> Kind:
        return Kind.LINEAR

    def label(self) -> str:
        return "fc"

    def group(self) -> str:
        return "Fully connected"


@dataclass(frozen=True)
class BatchNorm(OpInfo):
    num_features: int
    affine: bool = True
    track_running_stats: bool = True

    @property
    def kind(self) -> Kind:
        return Kind.BATCH_NORM

    def label(self) -> str:
        return "bn"


class ActivationFn(StrEnum):
    RELU = "relu"
    RELU6 = "relu6"
    LEAKY_RELU = "leaky_relu"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    GELU = "gelu"
    SILU = "silu"
    HARDSWISH = "hardswish"
    HARDSIGMOID = "hardsigmoid"
    SOFTMAX = "softmax"
    IDENTITY = "identity"


@dataclass(frozen=True)
class Activation(OpInfo):
    function: ActivationFn = ActivationFn.RELU

    @property
    def kind(self) -> Kind:
        return Kind.ACTIVATION

    def label(self) -> str:
        return str(self.function)


class PoolMode(StrEnum):
    MAX = "max"
    AVG = "avg"


@dataclass(frozen=True)
class Pool(OpInfo):
    """Max or average pooling over a fixed window."""

    mode: PoolMode
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...] = ()
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        dims = len(self.kernel)
        positive(self.kernel, "pool kernel")
        positive(self.stride, "pool stride")
        if not self.dilation:
            object.__setattr__(self, "dilation", (1,) * dims)
        for p, k in zip(self.padding, self.kernel, strict=True):
            if p < 0 or p > k // 2:
                raise InputError(f"pool padding {p} must be between 0 and half the kernel ({k})")

    @classmethod
    def make(
        cls,
        mode: PoolMode | str,
        kernel: int | tuple[int, ...],
        *,
        dims: int = 2,
        stride: int | tuple[int, ...] | None = None,
        padding: int | tuple[int, ...] = 0,
        ceil_mode: bool = False,
    ) -> Pool:
        if not isinstance(kernel, int):
            dims = len(kernel)
        k = as_tuple(kernel, dims, "pool kernel")
        return cls(
            mode=PoolMode(mode),
            kernel=k,
            stride=k if stride is None else as_tuple(stride, dims, "pool stride"),
            padding=as_tuple(padding, dims, "pool padding"),
            ceil_mode=ceil_mode,
        )

    @property
    def kind(self) -> Kind:
        return Kind.POOL

    def label(self) -> str:
        return f"pool {self.mode}"

    def geometry(self) -> str:
        return window_geometry(self.kernel, self.stride)

    @property
    def dims(self) -> int:
        return len(self.kernel)


@dataclass(frozen=True)
class AdaptivePool(OpInfo):
    mode: PoolMode
    output_size: tuple[int, ...]

    @property
    def kind(self) -> Kind:
        return Kind.ADAPTIVE_POOL

    def label(self) -> str:
        return f"apool {self.mode}"


@dataclass(frozen=True)
class GlobalPool(OpInfo):
    """Pool every spatial position into one; keeps the spatial dims as size 1 (keepdim)."""

    mode: PoolMode = PoolMode.AVG
    keepdim: bool = True

    @property
    def kind(self) -> Kind:
        return Kind.GLOBAL_POOL

    def label(self) -> str:
        return f"gpool {self.mode}"


@dataclass(frozen=True)
class Add(OpInfo):
    """Element-wise sum of two or more tensors of one shape (a residual join)."""

    @property
    def kind(self) -> Kind:
        return Kind.ADD


@dataclass(frozen=True)
class Concat(OpInfo):
    """Concatenation along the channel dimension."""

    @property
    def kind(self) -> Kind:
        return Kind.CONCAT


@dataclass(frozen=True)
class Flatten(OpInfo):
    start_dim: int = 1

    @property
    def kind(self) -> Kind:
        return Kind.FLATTEN


@dataclass(frozen=True)
class Dropout(OpInfo):
    p: float = 0.5

    @property
    def kind(self) -> Kind:
        return Kind.DROPOUT
