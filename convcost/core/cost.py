"""The cost of one layer, in exact integers with the unit in every name."""

from __future__ import annotations

from dataclasses import dataclass

from convcost.core.ops import Shape

FLOPS_PER_MAC = 2
"""One multiply-add is two floating-point operations, as in torch.utils.flop_counter."""


def numel(shape: Shape) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


COUNTERS = ("macs", "weights", "bias", "affine", "free", "buffers", "other_ops", "bytes")
"""The eight integer counters of a cost, in the order JSON and CSV print them."""


@dataclass(frozen=True, kw_only=True)
class Counters:
    """The eight counters, declared once; :class:`Cost` and ``Totals`` are both counters.

    ``macs`` counts the multiply-adds of convolution, linear, matmul and attention only; bias
    adds, normalisation, activations, pooling and element-wise work are ``other_ops``.
    ``weights`` are the weight tensors of convolutions and linear layers (the paper's parameter
    count); ``bias``, ``affine`` (normalisation scale and shift) and ``free`` (parameters a
    model uses directly, such as a class token or a position embedding) complete ``params``.
    ``bytes`` is the memory traffic: inputs read, output written, parameters and buffers read.
    """

    macs: int = 0
    weights: int = 0
    bias: int = 0
    affine: int = 0
    free: int = 0
    buffers: int = 0
    other_ops: int = 0
    bytes: int = 0

    @property
    def params(self) -> int:
        return self.weights + self.bias + self.affine + self.free

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs

    def counts(self) -> dict[str, int]:
        """The eight counters by name, in :data:`COUNTERS` order."""
        return {name: getattr(self, name) for name in COUNTERS}

    def summed(self, other: Counters) -> dict[str, int]:
        """The eight counters of ``self`` and ``other`` added, by name."""
        return {name: getattr(self, name) + getattr(other, name) for name in COUNTERS}

    def to_dict(self) -> dict[str, int]:
        """The counters with FLOPs and params, as every JSON report prints them."""
        counts = self.counts()
        macs = counts.pop("macs")
        return {"macs": macs, "flops": self.flops, "params": self.params, **counts}


@dataclass(frozen=True)
class Cost(Counters):
    """What one layer (or a sum of layers) costs: the counters and the output shape."""

    output_shape: Shape

    @property
    def intensity(self) -> float:
        """Arithmetic intensity: MACs per byte of memory traffic."""
        return self.macs / self.bytes if self.bytes else 0.0

    def __add__(self, other: Cost) -> Cost:
        """Two layers run one after the other: costs add, the later output shape stays."""
        return Cost(output_shape=other.output_shape, **self.summed(other))
