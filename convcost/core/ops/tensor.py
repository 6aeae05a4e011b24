"""Ops met in torch models: products, attention, normalisations, element-wise functions,
reductions, embeddings and parameters used directly (the YAML path may use them too)."""

from __future__ import annotations

from dataclasses import dataclass

from convcost._compat import StrEnum
from convcost.core.ops.base import Kind, OpInfo, positive

PRODUCT_GROUP = "Matmul / attention"

@dataclass(frozen=True)
class Matmul(OpInfo):
    """A product of two activations, batched and broadcast like ``torch.matmul``.

    Inputs are ``(*batch_a, m, k)`` and ``(*batch_b, k, n)``, and optionally a third shape: a
    tensor added to the product (``addmm``/``baddbmm``). It holds no weights: a product with a
    parameter is a :class:`Linear`.
    """

    @property
    def kind(self) -> Kind:
        return Kind.MATMUL

    def group(self) -> str:
        return PRODUCT_GROUP


@dataclass(frozen=True)
class Attention(OpInfo):
    """Scaled dot-product attention softmax(q·kᵀ)·v, without projections and without weights.

    Inputs are q ``(*batch, heads, L, E)``, k ``(*batch, kv_heads, S, E)`` and v
    ``(*batch, kv_heads, S, Ev)``; kv_heads may divide heads (grouped-query attention).
    """

    causal: bool = False

    @property
    def kind(self) -> Kind:
        return Kind.ATTENTION

    def group(self) -> str:
        return PRODUCT_GROUP


class NormFn(StrEnum):
    LAYER = "layer_norm"
    GROUP = "group_norm"
    RMS = "rms_norm"
    INSTANCE = "instance_norm"


@dataclass(frozen=True)
class Norm(OpInfo):
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
        positive(self.shape or (1,), "normalised shape")
        positive((self.groups,), "groups")

    @property
    def kind(self) -> Kind:
        return Kind.NORM


@dataclass(frozen=True)
class Elementwise(OpInfo):
    """An element-wise function of one or more broadcast tensors (mul, exp, where, ...)."""

    function: str
    ops_per_element: int = 1

    @property
    def kind(self) -> Kind:
        return Kind.ELEMENTWISE


@dataclass(frozen=True)
class Reduce(OpInfo):
    """A reduction (sum, mean, max, var, ...) over ``dims``; ``()`` reduces every dimension."""

    function: str
    dims: tuple[int, ...] = ()
    keepdim: bool = False

    @property
    def kind(self) -> Kind:
        return Kind.REDUCE

    def label(self) -> str:
        return f"reduce {self.function}"


@dataclass(frozen=True)
class Embedding(OpInfo):
    """A table lookup: integer ids of any shape -> ids x ``embedding_dim``.

    The table counts as ``weights`` (it is often tied to an output linear layer)."""

    num_embeddings: int
    embedding_dim: int

    def __post_init__(self) -> None:
        positive((self.num_embeddings,), "embeddings")
        positive((self.embedding_dim,), "embedding dim")

    @property
    def kind(self) -> Kind:
        return Kind.EMBEDDING


@dataclass(frozen=True)
class FreeParameter(OpInfo):
    """A parameter the model uses directly (a class token, a position embedding), not through
    a layer: it costs no arithmetic of its own, but it is a parameter."""

    numel: int

    @property
    def kind(self) -> Kind:
        return Kind.PARAMETER

    def label(self) -> str:
        return "param"
