"""The pairing rule: which depthwise conv pairs with which pointwise conv, and why not.

A depthwise conv pairs with the pointwise conv that consumes its output through any chain of
channel-preserving ops: normalisation, activation, dropout, per-channel element-wise ops (a
layer scale), permutes to and from channels-last (they leave no record), and squeeze-excite
gating (the output goes to a global squeeze whose branch ends in a product with the output
itself). A linear layer over the channel dimension of a channels-last tensor counts as the
pointwise conv (ConvNeXt). Anything else ends the chain, and the depthwise conv is left without
a partner, with the reason. Every record is visited by at most one chain: linear time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from convcost._compat import StrEnum
from convcost.core.cost import Cost, numel
from convcost.core.graph import channels_last, consumers_of, linked, same_tensor, sources_of
from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    ConvRole,
    Dropout,
    Elementwise,
    GlobalPool,
    Linear,
    Norm,
    Pool,
    Reduce,
    Shape,
)
from convcost.core.records import LayerRecord


class Rule(StrEnum):
    """Which rule gave a convolution its alternative (or none)."""

    PAIR = "pair"
    """A depthwise conv and the pointwise conv it feeds -> one standard conv."""
    PAIR_LINEAR = "pair_linear"
    """A depthwise conv and a linear layer over its channels -> one standard conv."""
    DENSE = "dense"
    """A depthwise conv with no pointwise partner -> the dense conv with the same channels."""
    SEPARATE = "separate"
    """A k×k conv with groups 1 -> depthwise k×k + pointwise 1×1."""
    SEPARATE_GROUPED = "separate_grouped"
    """A grouped k×k conv -> depthwise k×k + grouped pointwise 1×1."""
    HALF = "pair_half"
    """The pointwise half of a pair: the alternative is on its depthwise half."""
    NONE = "none"
    """No alternative; the note says why."""


@dataclass(frozen=True)
class Pair:
    head: int
    """The depthwise conv."""
    tail: int
    """The pointwise conv (or linear layer) that consumes its output."""
    between: tuple[int, ...] = ()
    """Per-channel ops on the chain between them (norm, activation, dropout, scale)."""
    gates: tuple[int, ...] = ()
    """Squeeze-excite records on the chain: each squeeze branch and its gating product."""


@dataclass(frozen=True)
class Lone:
    """A depthwise conv with no pointwise partner."""

    head: int
    reason: str
    """Why, in a few words that group alike cases ("its output goes to a residual add")."""
    where: str = ""
    """The layer where the chain ended."""


@dataclass
class Pairing:
    pairs: dict[int, Pair]
    lone: dict[int, Lone]
    tails: dict[int, int]
    """Pointwise half -> its depthwise half."""
    sources: list[tuple[int, ...]]
    consumers: list[list[int]]


def is_depthwise(op: object) -> bool:
    return isinstance(op, Conv) and op.role is ConvRole.DEPTHWISE and not op.transposed


def _pointwise_for(op: Conv, dw: Conv) -> bool:
    return (op.role is ConvRole.POINTWISE and not op.transposed and op.dims == dw.dims
            and op.stride == (1,) * op.dims and op.in_channels == dw.out_channels)


def _what(op: object) -> str:
    """A few words for the layer a chain ran into."""
    if isinstance(op, Conv):
        if op.transposed:
            return "a transposed conv"
        if op.role is ConvRole.POINTWISE:
            return "a strided 1×1 conv"
        if op.role is ConvRole.GROUPED:
            return f"a grouped {op.kernel_label()} conv"
        if op.role is ConvRole.DEPTHWISE:
            return "another depthwise conv"
        return f"a {op.kernel_label()} conv"
    if isinstance(op, Add) or (isinstance(op, Elementwise) and op.function == "add"):
        return "a residual add"
    if isinstance(op, Concat):
        return "a concat"
    if isinstance(op, Pool | GlobalPool | AdaptivePool | Reduce):
        return "pooling"
    if isinstance(op, Linear):
        return "a linear layer not over its channels"
    kind = getattr(op, "kind", None)
    return f"a {kind}" if kind is not None else f"a {type(op).__name__}"


class _Chains:
    def __init__(self, records: Sequence[LayerRecord], costs: Sequence[Cost]) -> None:
        self.records = records
        self.costs = costs
        self.sources = sources_of(records, costs)
        self.consumers = consumers_of(self.sources)
        self.inferred = not linked(records)

    def per_channel(self, j: int, cur: int, shape: Shape, channels: int) -> bool:
        """Record j, fed by ``cur``, keeps every channel apart and the tensor's shape."""
        op = self.records[j].op
        if not same_tensor(self.costs[j].output_shape, shape):
            return False
        if isinstance(op, BatchNorm | Dropout):
            return True
        if isinstance(op, Activation):
            return op.function is not ActivationFn.SOFTMAX
        if isinstance(op, Norm):
            return op.shape == (channels,)
        if isinstance(op, Elementwise):
            others = [s for s, src in zip(self.records[j].inputs, self.sources[j], strict=True)
                      if src != cur]
            return all(numel(s) <= channels for s in others)
        return False

    def squeeze(self, j: int, shape: Shape, channels: int) -> bool:
        """Record j pools the whole tensor to one value per channel."""
        if not isinstance(self.records[j].op, GlobalPool | AdaptivePool | Reduce):
            return False
        out = self.costs[j].output_shape
        return len(out) >= 2 and out[0] == shape[0] and out[1] == channels and \
            all(d == 1 for d in out[2:])

    def gate(self, cur: int, cons: list[int], shape: Shape,
             channels: int) -> tuple[list[int], int] | None:
        """Squeeze-excite: squeezes of ``cur`` whose branch ends in one product with ``cur``."""
        squeezes = [c for c in cons if self.squeeze(c, shape, channels)]
        rest = [c for c in cons if c not in squeezes]
        if not squeezes or len(rest) != 1:
            return None
        mul = rest[0]
        op = self.records[mul].op
        if not (isinstance(op, Elementwise) and op.function == "mul"
                and len(self.records[mul].inputs) == 2
                and same_tensor(self.costs[mul].output_shape, shape)):
            return None
        side: set[int] = set()
        todo = list(squeezes)
        while todo:
            k = todo.pop()
            if k in side:
                continue
            if k > mul:
                return None
            side.add(k)
            for c in self.consumers[k]:
                if c != mul:
                    todo.append(c)
        other = [s for s in self.sources[mul] if s != cur]
        if len(other) != 1 or other[0] not in side:
            return None
        return sorted(side), mul

    def follow(self, i: int) -> Pair | Lone:
        dw = self.records[i].op
        assert isinstance(dw, Conv)
        shape = self.costs[i].output_shape
        channels = dw.out_channels
        cur = i
        between: list[int] = []
        gates: list[int] = []
        while True:
            cons = self.consumers[cur]
            if not cons:
                return Lone(i, "no layer found reading its output (data flow inferred from "
                            "order and shapes)" if self.inferred else
                            "nothing consumes its output")
            if len(cons) > 1:
                found = self.gate(cur, cons, shape, channels)
                if found is None:
                    names = ", ".join(self.records[c].name for c in cons[:3])
                    return Lone(i, f"its output feeds {len(cons)} layers", names)
                side, mul = found
                gates += [*side, mul]
                cur = mul
                continue
            j = cons[0]
            rec = self.records[j]
            op = rec.op
            if isinstance(op, Conv) and len(rec.inputs) == 1 and _pointwise_for(op, dw):
                return Pair(i, j, tuple(between), tuple(gates))
            if isinstance(op, Linear) and len(rec.inputs) == 1 and \
                    op.in_features == channels and rec.inputs[0] == channels_last(shape):
                return Pair(i, j, tuple(between), tuple(gates))
            if len(rec.inputs) >= 1 and self.per_channel(j, cur, shape, channels):
                between.append(j)
                cur = j
                continue
            return Lone(i, f"its output goes to {_what(op)}", rec.name)


def find_pairs(records: Sequence[LayerRecord], costs: Sequence[Cost]) -> Pairing:
    """Every depthwise conv, paired with its pointwise conv or left alone with the reason."""
    chains = _Chains(records, costs)
    pairs: dict[int, Pair] = {}
    lone: dict[int, Lone] = {}
    tails: dict[int, int] = {}
    for i, rec in enumerate(records):
        if not is_depthwise(rec.op):
            continue
        found = chains.follow(i)
        if isinstance(found, Pair) and found.tail not in tails:
            pairs[i] = found
            tails[found.tail] = i
        elif isinstance(found, Pair):
            lone[i] = Lone(i, "its pointwise conv is shared", records[found.tail].name)
        else:
            lone[i] = found
    return Pairing(pairs, lone, tails, chains.sources, chains.consumers)
