"""Operation specs: what a layer is, independent of where it came from.

Specs are frozen and hold only structure (channels, kernel, stride, ...). Shapes flow in from
outside; costs come from the formula registry (``convcost.core.formulas``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from convcost._compat import StrEnum
from convcost.errors import InputError

Shape = tuple[int, ...]
Pads = tuple[tuple[int, int], ...]


class Kind(StrEnum):
    CONV = "conv"
    CONV_TRANSPOSE = "conv_transpose"
    LINEAR = "linear"
    BATCH_NORM = "batch_norm"
    ACTIVATION = "activation"
    POOL = "pool"
    ADAPTIVE_POOL = "adaptive_pool"
    GLOBAL_POOL = "global_pool"
    ADD = "add"
    CONCAT = "concat"
    CHANNEL_SHUFFLE = "channel_shuffle"
    FLATTEN = "flatten"
    DROPOUT = "dropout"
    MATMUL = "matmul"
    ATTENTION = "attention"
    NORM = "norm"
    ELEMENTWISE = "elementwise"
    EMBEDDING = "embedding"
    PARAMETER = "parameter"
    REDUCE = "reduce"
    UPSAMPLE = "upsample"
    RECURRENT = "recurrent"
    GRID_SAMPLE = "grid_sample"
    ROI_ALIGN = "roi_align"
    EINSUM = "einsum"
    EMBEDDING_BAG = "embedding_bag"
    NMS = "nms"


class ConvRole(StrEnum):
    """What a convolution is, as the paper's Table 2 groups them."""

    STANDARD = "standard"
    DEPTHWISE = "depthwise"
    POINTWISE = "pointwise"
    GROUPED = "grouped"


def as_tuple(value: int | tuple[int, ...] | list[int], dims: int, what: str) -> tuple[int, ...]:
    """An int or a per-dimension sequence, checked to be positive integers."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be an integer, not {value!r}")
    if isinstance(value, int):
        items: tuple[int, ...] = (value,) * dims
    else:
        items = tuple(value)
        if len(items) != dims:
            raise InputError(f"{what} needs {dims} value(s), got {len(items)}")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError(f"{what} must be integers, got {v!r}")
    return items


def resolve_padding(
    padding: int | tuple[int, ...] | list[int] | str,
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
) -> Pads:
    """Padding as explicit (before, after) pairs per spatial dimension.

    ``same`` pads ``dilation*(kernel-1)`` in total, split evenly with any odd element after (as
    torch does for stride 1); with stride s it gives ceil(input/s) outputs, the paper's and
    TensorFlow's 'same'. ``valid`` is no padding.
    """
    dims = len(kernel)
    if isinstance(padding, str):
        word = padding.strip().lower()
        if word == "valid":
            return tuple((0, 0) for _ in range(dims))
        if word == "same":
            pads = []
            for k, d in zip(kernel, dilation, strict=True):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise InputError(f"unknown padding {padding!r}; use an integer, 'same' or 'valid'")
    values = as_tuple(padding, dims, "padding")
    if any(v < 0 for v in values):
        raise InputError(f"padding must be >= 0, got {padding!r}")
    return tuple((v, v) for v in values)


def _positive(values: tuple[int, ...], what: str) -> None:
    if any(v < 1 for v in values):
        raise InputError(f"{what} must be >= 1, got {values if len(values) > 1 else values[0]}")


@dataclass(frozen=True)
class Conv:
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
        _positive((self.in_channels,), "in channels")
        _positive((self.out_channels,), "out channels")
        _positive(self.kernel, "kernel")
        _positive(self.stride, "stride")
        _positive(self.dilation, "dilation")
        _positive((self.groups,), "groups")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise InputError(
                f"groups={self.groups} must divide both in channels ({self.in_channels}) "
                f"and out channels ({self.out_channels})"
            )
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
class Linear:
    in_features: int
    out_features: int
    bias: bool = True

    def __post_init__(self) -> None:
        _positive((self.in_features,), "in features")
        _positive((self.out_features,), "out features")

    @property
    def kind(self) -> Kind:
        return Kind.LINEAR


@dataclass(frozen=True)
class BatchNorm:
    num_features: int
    affine: bool = True
    track_running_stats: bool = True

    @property
    def kind(self) -> Kind:
        return Kind.BATCH_NORM


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
class Activation:
    function: ActivationFn = ActivationFn.RELU

    @property
    def kind(self) -> Kind:
        return Kind.ACTIVATION


class PoolMode(StrEnum):
    MAX = "max"
    AVG = "avg"


@dataclass(frozen=True)
class Pool:
    """Max or average pooling over a fixed window."""

    mode: PoolMode
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...] = ()
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        dims = len(self.kernel)
        _positive(self.kernel, "pool kernel")
        _positive(self.stride, "pool stride")
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

    @property
    def dims(self) -> int:
        return len(self.kernel)


@dataclass(frozen=True)
class AdaptivePool:
    mode: PoolMode
    output_size: tuple[int, ...]

    @property
    def kind(self) -> Kind:
        return Kind.ADAPTIVE_POOL


@dataclass(frozen=True)
class GlobalPool:
    """Pool every spatial position into one; keeps the spatial dims as size 1 (keepdim)."""

    mode: PoolMode = PoolMode.AVG
    keepdim: bool = True

    @property
    def kind(self) -> Kind:
        return Kind.GLOBAL_POOL


@dataclass(frozen=True)
class Add:
    """Element-wise sum of two or more tensors of one shape (a residual join)."""

    @property
    def kind(self) -> Kind:
        return Kind.ADD


@dataclass(frozen=True)
class Concat:
    """Concatenation along the channel dimension."""

    @property
    def kind(self) -> Kind:
        return Kind.CONCAT


@dataclass(frozen=True)
class ChannelShuffle:
    """ShuffleNet's channel shuffle: channels regrouped ``(groups, C/groups) -> (C/groups,
    groups)``. It moves data and computes nothing."""

    groups: int

    def __post_init__(self) -> None:
        _positive((self.groups,), "shuffle groups")

    @property
    def kind(self) -> Kind:
        return Kind.CHANNEL_SHUFFLE


@dataclass(frozen=True)
class Flatten:
    start_dim: int = 1

    @property
    def kind(self) -> Kind:
        return Kind.FLATTEN


@dataclass(frozen=True)
class Dropout:
    p: float = 0.5

    @property
    def kind(self) -> Kind:
        return Kind.DROPOUT


class Op(Protocol):
    """Anything with a kind; the formula registry maps its type to a cost function."""

    @property
    def kind(self) -> Kind: ...


# ---------------------------------------------------------------- ops met in torch models
# (appended by the torch front-end; the YAML path may use them too)


@dataclass(frozen=True)
class Matmul:
    """A product of two activations, batched and broadcast like ``torch.matmul``.

    Inputs are ``(*batch_a, m, k)`` and ``(*batch_b, k, n)``, and optionally a third shape: a
    tensor added to the product (``addmm``/``baddbmm``). It holds no weights: a product with a
    parameter is a :class:`Linear`.
    """

    @property
    def kind(self) -> Kind:
        return Kind.MATMUL


@dataclass(frozen=True)
class Attention:
    """Scaled dot-product attention softmax(q·kᵀ)·v, without projections and without weights.

    Inputs are q ``(*batch, heads, L, E)``, k ``(*batch, kv_heads, S, E)`` and v
    ``(*batch, kv_heads, S, Ev)``; kv_heads may divide heads (grouped-query attention).
    """

    causal: bool = False

    @property
    def kind(self) -> Kind:
        return Kind.ATTENTION


class NormFn(StrEnum):
    LAYER = "layer_norm"
    GROUP = "group_norm"
    RMS = "rms_norm"
    INSTANCE = "instance_norm"


@dataclass(frozen=True)
class Norm:
    """Layer, group, RMS or instance normalisation.

    ``shape`` is the shape of its scale (and shift): the normalised trailing shape for layer and
    RMS norm, ``(channels,)`` for group and instance norm.
    """

    function: NormFn
    shape: tuple[int, ...]
    weight: bool = True
    bias: bool = True
    groups: int = 1

    def __post_init__(self) -> None:
        _positive(self.shape or (1,), "normalised shape")
        _positive((self.groups,), "groups")

    @property
    def kind(self) -> Kind:
        return Kind.NORM


@dataclass(frozen=True)
class Elementwise:
    """An element-wise function of one or more broadcast tensors (mul, exp, where, ...)."""

    function: str
    ops_per_element: int = 1

    @property
    def kind(self) -> Kind:
        return Kind.ELEMENTWISE


@dataclass(frozen=True)
class Reduce:
    """A reduction (sum, mean, max, var, ...) over ``dims``; ``()`` reduces every dimension."""

    function: str
    dims: tuple[int, ...] = ()
    keepdim: bool = False

    @property
    def kind(self) -> Kind:
        return Kind.REDUCE


@dataclass(frozen=True)
class Embedding:
    """A table lookup: integer ids of any shape -> ids x ``embedding_dim``.

    The table counts as ``weights`` (it is often tied to an output linear layer)."""

    num_embeddings: int
    embedding_dim: int

    def __post_init__(self) -> None:
        _positive((self.num_embeddings,), "embeddings")
        _positive((self.embedding_dim,), "embedding dim")

    @property
    def kind(self) -> Kind:
        return Kind.EMBEDDING


@dataclass(frozen=True)
class FreeParameter:
    """A parameter the model uses directly (a class token, a position embedding), not through
    a layer: it costs no arithmetic of its own, but it is a parameter."""

    numel: int

    @property
    def kind(self) -> Kind:
        return Kind.PARAMETER


# ---------------------------------------------------------------- resampling, recurrence and
# the other ops met in real models (vision heads, detectors, sequence models)

UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")
_UPSAMPLE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@dataclass(frozen=True)
class Upsample:
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
        if self.mode not in UPSAMPLE_MODES:
            raise InputError(
                f"unknown upsampling mode {self.mode!r}; use one of {', '.join(UPSAMPLE_MODES)}"
            )
        if not self.size and not self.scale:
            raise InputError("upsampling needs an output size or a scale factor")
        if self.size:
            _positive(self.size, "upsampling size")
        if any(not s > 0 for s in self.scale):
            raise InputError(f"upsampling scale must be > 0, got {list(self.scale)}")

    @property
    def kind(self) -> Kind:
        return Kind.UPSAMPLE

    @property
    def dims(self) -> int | None:
        """Spatial dims the mode works on; None for nearest (any)."""
        return _UPSAMPLE_DIMS.get(self.mode)


RECURRENT_CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


@dataclass(frozen=True)
class Recurrent:
    """One layer and direction of an LSTM, GRU or Elman RNN, run over a sequence
    (``sequence=True``: input ``(*batch_and_steps, input_size)``) or as one cell step
    (``sequence=False``: input ``(batch, input_size)``).

    ``proj_size`` (LSTM only): the hidden state is projected to that size (torch's
    ``proj_size``), and the recurrent weights read the projected state.
    """

    cell: str
    input_size: int
    hidden_size: int
    bias: bool = True
    sequence: bool = True
    proj_size: int = 0

    def __post_init__(self) -> None:
        if self.cell not in RECURRENT_CELLS:
            raise InputError(
                f"unknown recurrent cell {self.cell!r}; use one of {', '.join(RECURRENT_CELLS)}"
            )
        _positive((self.input_size,), "recurrent input size")
        _positive((self.hidden_size,), "recurrent hidden size")
        if self.proj_size < 0 or (self.proj_size and self.cell != "lstm"):
            raise InputError("proj_size applies to an LSTM only, and must be >= 0")
        if self.proj_size >= self.hidden_size:
            raise InputError("proj_size must be smaller than hidden_size")

    @property
    def kind(self) -> Kind:
        return Kind.RECURRENT

    @property
    def gates(self) -> int:
        return {"lstm": 4, "gru": 3}.get(self.cell, 1)

    @property
    def state_size(self) -> int:
        """The size of the hidden state fed back (and output)."""
        return self.proj_size or self.hidden_size


@dataclass(frozen=True)
class GridSample:
    """``grid_sample``: an input ``(N, C, *spatial)`` sampled at the points of a grid
    ``(N, *out_spatial, dims)``; ``mode`` is ``bilinear`` (trilinear in 3-D), ``nearest`` or
    ``bicubic``."""

    mode: str = "bilinear"

    def __post_init__(self) -> None:
        if self.mode not in ("bilinear", "nearest", "bicubic"):
            raise InputError(f"unknown grid_sample mode {self.mode!r}")

    @property
    def kind(self) -> Kind:
        return Kind.GRID_SAMPLE


@dataclass(frozen=True)
class RoiAlign:
    """torchvision's ``roi_align``: features ``(N, C, H, W)`` and boxes ``(K, 5)`` ->
    ``(K, C, *output_size)``; every output bin averages ``sampling_ratio`` x
    ``sampling_ratio`` bilinear samples."""

    output_size: tuple[int, int]
    sampling_ratio: int

    def __post_init__(self) -> None:
        _positive(self.output_size, "roi_align output size")
        _positive((self.sampling_ratio,), "roi_align sampling ratio")

    @property
    def kind(self) -> Kind:
        return Kind.ROI_ALIGN


@dataclass(frozen=True)
class Einsum:
    """``torch.einsum(equation, *operands)``, costed by its contraction: one multiply-add per
    point of the full index space (the product of the sizes of every index) when it
    multiplies two or more operands; a one-operand einsum (a trace, a sum) is one op per
    point."""

    equation: str

    @property
    def kind(self) -> Kind:
        return Kind.EINSUM


@dataclass(frozen=True)
class EmbeddingBag:
    """Sums (``mode='sum'``), averages or takes the max of bags of embedding rows. Inputs:
    the indices' shape and ``(bags,)``."""

    num_embeddings: int
    embedding_dim: int
    mode: str = "mean"
    per_sample_weights: bool = False

    def __post_init__(self) -> None:
        _positive((self.num_embeddings,), "embeddings")
        _positive((self.embedding_dim,), "embedding dim")
        if self.mode not in ("sum", "mean", "max"):
            raise InputError(f"unknown embedding bag mode {self.mode!r}")

    @property
    def kind(self) -> Kind:
        return Kind.EMBEDDING_BAG


@dataclass(frozen=True)
class Nms:
    """Non-maximum suppression of ``(n, 4)`` boxes: at most one IoU test per pair."""

    @property
    def kind(self) -> Kind:
        return Kind.NMS
