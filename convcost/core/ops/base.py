"""What every op is and says about itself: its kind, and the text a report shows for it.

An op is a frozen dataclass that derives from :class:`OpInfo`. Besides its structure it answers
three questions in one place, so that neither the report nor the breakdown keeps a table of
op types: ``label()`` (the table's kind column), ``geometry()`` (kernel, stride, groups ...)
and ``group()`` (the row of the paper's Table 2 breakdown it is summed into).
"""

from __future__ import annotations

from typing import Protocol

from convcost._compat import StrEnum
from convcost.errors import InputError

Shape = tuple[int, ...]
Pads = tuple[tuple[int, int], ...]


class Kind(StrEnum):
    """The kinds of the ops core reasons about; an op module of convcost.ops names its own."""

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
    FLATTEN = "flatten"
    DROPOUT = "dropout"
    MATMUL = "matmul"
    ATTENTION = "attention"
    NORM = "norm"
    ELEMENTWISE = "elementwise"
    EMBEDDING = "embedding"
    PARAMETER = "parameter"
    REDUCE = "reduce"


OTHER_GROUP = "Other"
"""The breakdown row of every op that is not a convolution, linear layer or product."""


class OpInfo:
    """The defaults of what an op says about itself; an op overrides what differs."""

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def label(self) -> str:
        """The kind column of a report: ``dw 3×3``, ``fc``, ``reduce mean`` ..."""
        return str(self.kind)

    def geometry(self) -> str:
        """Kernel, stride, dilation and groups, or the like; empty when there is none."""
        return ""

    def group(self) -> str:
        """The row of the paper's Table 2 breakdown this op is summed into."""
        return OTHER_GROUP


class Op(Protocol):
    """Anything with a kind and the three answers of :class:`OpInfo`; the formula registry
    maps its type to a cost function."""

    @property
    def kind(self) -> str: ...

    def label(self) -> str: ...

    def geometry(self) -> str: ...

    def group(self) -> str: ...


def per_dim(values: tuple[int, ...]) -> str:
    """``2`` when every dimension has the same value, else ``2×1``."""
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))


def check_conv(in_channels: int, out_channels: int, kernel: tuple[int, ...],
               stride: tuple[int, ...], dilation: tuple[int, ...], groups: int) -> None:
    """A convolution's channels, kernel, stride, dilation and groups: positive, and the groups
    dividing both channel counts."""
    positive((in_channels,), "in channels")
    positive((out_channels,), "out channels")
    positive(kernel, "kernel")
    positive(stride, "stride")
    positive(dilation, "dilation")
    positive((groups,), "groups")
    if in_channels % groups or out_channels % groups:
        raise InputError(f"groups={groups} must divide both in channels ({in_channels}) and "
                         f"out channels ({out_channels})")


def conv_geometry(kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                  groups: int) -> list[str]:
    """``["3×3", "s2", "d2", "g4"]``: a convolution's geometry, the defaults left out."""
    parts = ["×".join(map(str, kernel))]
    if any(s != 1 for s in stride):
        parts.append("s" + per_dim(stride))
    if any(d != 1 for d in dilation):
        parts.append("d" + per_dim(dilation))
    if groups != 1:
        parts.append(f"g{groups}")
    return parts


def window_geometry(kernel: tuple[int, ...], stride: tuple[int, ...]) -> str:
    """``3×3 s2`` for a window op."""
    return "×".join(map(str, kernel)) + (" s" + per_dim(stride) if any(s != 1 for s in stride)
                                         else "")


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


def positive(values: tuple[int, ...], what: str) -> None:
    if any(v < 1 for v in values):
        raise InputError(f"{what} must be >= 1, got {values if len(values) > 1 else values[0]}")
