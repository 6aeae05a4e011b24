"""Resampling, recurrence and the other ops met in real models (vision heads, detectors,
sequence models)."""

from __future__ import annotations

from dataclasses import dataclass

from convcost.core.ops.base import Kind, OpInfo, positive
from convcost.errors import InputError

UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")
_UPSAMPLE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


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
        if self.mode not in UPSAMPLE_MODES:
            raise InputError(
                f"unknown upsampling mode {self.mode!r}; use one of {', '.join(UPSAMPLE_MODES)}"
            )
        if not self.size and not self.scale:
            raise InputError("upsampling needs an output size or a scale factor")
        if self.size:
            positive(self.size, "upsampling size")
        if any(not s > 0 for s in self.scale):
            raise InputError(f"upsampling scale must be > 0, got {list(self.scale)}")

    @property
    def kind(self) -> Kind:
        return Kind.UPSAMPLE

    def label(self) -> str:
        return f"up {self.mode}"

    def geometry(self) -> str:
        if self.size:
            return "×".join(map(str, self.size))
        return "x" + "×".join(map(str, self.scale))

    @property
    def dims(self) -> int | None:
        """Spatial dims the mode works on; None for nearest (any)."""
        return _UPSAMPLE_DIMS.get(self.mode)


RECURRENT_CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


@dataclass(frozen=True)
class Recurrent(OpInfo):
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
        positive((self.input_size,), "recurrent input size")
        positive((self.hidden_size,), "recurrent hidden size")
        if self.proj_size < 0 or (self.proj_size and self.cell != "lstm"):
            raise InputError("proj_size applies to an LSTM only, and must be >= 0")
        if self.proj_size >= self.hidden_size:
            raise InputError("proj_size must be smaller than hidden_size")

    @property
    def kind(self) -> Kind:
        return Kind.RECURRENT

    def label(self) -> str:
        cell = self.cell.removesuffix("_tanh").removesuffix("_relu")
        return cell if self.sequence else f"{cell} cell"

    def geometry(self) -> str:
        projected = f"→{self.proj_size}" if self.proj_size else ""
        return f"{self.input_size}→{self.hidden_size}{projected}"

    @property
    def gates(self) -> int:
        return {"lstm": 4, "gru": 3}.get(self.cell, 1)

    @property
    def state_size(self) -> int:
        """The size of the hidden state fed back (and output)."""
        return self.proj_size or self.hidden_size


@dataclass(frozen=True)
class GridSample(OpInfo):
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
class RoiAlign(OpInfo):
    """torchvision's ``roi_align``: features ``(N, C, H, W)`` and boxes ``(K, 5)`` ->
    ``(K, C, *output_size)``; every output bin averages ``sampling_ratio`` x
    ``sampling_ratio`` bilinear samples."""

    output_size: tuple[int, int]
    sampling_ratio: int

    def __post_init__(self) -> None:
        positive(self.output_size, "roi_align output size")
        positive((self.sampling_ratio,), "roi_align sampling ratio")

    @property
    def kind(self) -> Kind:
        return Kind.ROI_ALIGN


@dataclass(frozen=True)
class Einsum(OpInfo):
    """``torch.einsum(equation, *operands)``, costed by its contraction: one multiply-add per
    point of the full index space (the product of the sizes of every index) when it
    multiplies two or more operands; a one-operand einsum (a trace, a sum) is one op per
    point."""

    equation: str

    @property
    def kind(self) -> Kind:
        return Kind.EINSUM

    def geometry(self) -> str:
        return self.equation


@dataclass(frozen=True)
class EmbeddingBag(OpInfo):
    """Sums (``mode='sum'``), averages or takes the max of bags of embedding rows. Inputs:
    the indices' shape and ``(bags,)``."""

    num_embeddings: int
    embedding_dim: int
    mode: str = "mean"
    per_sample_weights: bool = False

    def __post_init__(self) -> None:
        positive((self.num_embeddings,), "embeddings")
        positive((self.embedding_dim,), "embedding dim")
        if self.mode not in ("sum", "mean", "max"):
            raise InputError(f"unknown embedding bag mode {self.mode!r}")

    @property
    def kind(self) -> Kind:
        return Kind.EMBEDDING_BAG


@dataclass(frozen=True)
class Nms(OpInfo):
    """Non-maximum suppression of ``(n, 4)`` boxes: at most one IoU test per pair."""

    @property
    def kind(self) -> Kind:
        return Kind.NMS
