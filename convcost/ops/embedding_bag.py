"""Embedding bags (``nn.EmbeddingBag``): the rows of a table gathered by index and reduced per
bag by a sum, mean or max, as recommendation models run them.

Everything convcost knows of it: the op, its shape rule and formula, and the aten ops that
are one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.ops import OpInfo, Shape, positive
from convcost.errors import InputError, ShapeError
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.registry import handles as torch_op

if TYPE_CHECKING:
    from convcost.frontends.torch.state import WalkState

MODES = ("sum", "mean", "max")


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
        if self.mode not in MODES:
            raise InputError(f"unknown embedding bag mode {self.mode!r}")

    @property
    def kind(self) -> str:
        return "embedding_bag"


@shape_rule(EmbeddingBag)
def embedding_bag_shape(op: EmbeddingBag, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) != 2:
        raise ShapeError(f"embedding_bag takes indices and bags, got {len(inputs)} shapes")
    return (inputs[1][0], op.embedding_dim)


@formula(EmbeddingBag)
def embedding_bag(op: EmbeddingBag, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: one per gathered element (the sum, mean or max), one more per element with
    per-sample weights, and one division per output element for the mean."""
    out = embedding_bag_shape(op, inputs)
    gathered = numel(inputs[0]) * op.embedding_dim
    ops = gathered * (2 if op.per_sample_weights else 1)
    ops += numel(out) if op.mode == "mean" else 0
    return Cost(output_shape=out, weights=op.num_embeddings * op.embedding_dim,
                other_ops=ops)


@torch_op("aten._embedding_bag", "aten._embedding_bag_forward_only", "aten.embedding_bag")
def from_aten(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    weight, indices = a["weight"], a["indices"]
    first = out[0] if isinstance(out, (tuple, list)) else out
    op = EmbeddingBag(int(weight.shape[0]), int(weight.shape[1]), MODES[int(a["mode"])],
                      per_sample_weights=a.get("per_sample_weights") is not None)
    w.emit(op, [tensor_shape(indices), (int(first.shape[0]),)], "embedding_bag", weight)
