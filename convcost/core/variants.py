"""The network in its other forms: every rewrite as a unit of records replaced by records.

How the layers between a merged pair are costed in the all-standard network:

* per-channel ops on the depthwise output (its normalisation, activation, dropout, a scale)
  belong to the depthwise half and go with it: the standard conv is followed only by what
  followed the pointwise half (the paper's Conv MobileNet: one BN and ReLU per conv);
* a squeeze-excite block on the depthwise output has to sit somewhere in the standard network:
  it moves to the output of the merged conv, with the same squeeze width, re-costed at the
  merged conv's output channels and size.

A standard k×k conv made separable keeps the normalisation and activation after it, and gets a
copy of them (at its input channels) between its depthwise and pointwise halves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from convcost._compat import StrEnum
from convcost.core.cost import Cost
from convcost.core.ops import (
    Activation,
    BatchNorm,
    Conv,
    ConvRole,
    Dropout,
    Linear,
    Norm,
    NormFn,
    Op,
    Shape,
)
from convcost.core.pairing import Lone, Pair, Pairing, Rule, find_pairs
from convcost.core.records import LayerRecord
from convcost.core.registry import cost_of
from convcost.core.rewrite import can_separate, to_dense, to_separable, to_standard
from convcost.errors import ConvcostError


class Variant(StrEnum):
    AS_WRITTEN = "as_written"
    STANDARD = "standard"
    SEPARABLE = "separable"


@dataclass(frozen=True)
class Unit:
    """Records ``removed`` (indices, as written) replaced by ``added``, placed at ``head``."""

    rule: Rule
    variant: Variant
    head: int
    tail: int
    removed: tuple[int, ...]
    added: tuple[LayerRecord, ...]
    moved: int = 0
    """Squeeze-excite records re-costed after the merged conv."""
    dropped: int = 0
    """Per-channel ops between the halves that went with the depthwise half."""


def conv_forms(records: Sequence[LayerRecord], u: Unit) -> tuple[tuple[Conv, ...],
                                                                  tuple[Conv, ...]]:
    """The convolutions of a unit in standard form and in separable form (for timing them):
    a linear pointwise half as the 1×1 conv it equals; a lone depthwise conv is its own
    separable form."""
    head = records[u.head].op
    assert isinstance(head, Conv)
    if u.variant is Variant.SEPARABLE:
        return (head,), to_separable(head)
    tail = records[u.tail].op
    assert isinstance(tail, Conv | Linear)
    std = to_standard(head, tail) if u.rule is not Rule.DENSE else to_dense(head)
    if isinstance(tail, Linear):
        tail = Conv.make(tail.in_features, tail.out_features, 1, dims=head.dims, bias=tail.bias)
    assert isinstance(tail, Conv)
    return (std,), ((head,) if u.rule is Rule.DENSE else (head, tail))


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    note: str


def _prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) - 1 and a[n] == b[n]:
        n += 1
    return a[:n]


def _recast(op: Op, old_in: Shape, new_in: Shape, old_out: Shape, channels: int,
            new_channels: int) -> Op:
    """A squeeze-excite layer's op re-made for ``new_channels`` instead of ``channels``."""
    if isinstance(op, Conv):
        out = new_channels if old_out[1] == channels else op.out_channels
        groups = new_in[1] if op.groups == op.in_channels and op.groups > 1 else op.groups
        return replace(op, in_channels=new_in[1], out_channels=out, groups=groups)
    if isinstance(op, Linear):
        out = new_channels if old_out[-1] == channels else op.out_features
        return replace(op, in_features=new_in[-1], out_features=out)
    if isinstance(op, BatchNorm):
        return replace(op, num_features=new_in[1])
    if isinstance(op, Norm):
        size = new_in[-1] if op.function in (NormFn.LAYER, NormFn.RMS) else new_in[1]
        return replace(op, shape=(size,))
    return op


def _pair_unit(records: Sequence[LayerRecord], costs: Sequence[Cost], p: Pair) -> Unit:
    dw, pw = records[p.head].op, records[p.tail].op
    assert isinstance(dw, Conv) and isinstance(pw, Conv | Linear)
    head, tail = records[p.head], records[p.tail]
    pre = _prefix(head.path, tail.path)
    name = f"{head.path[len(pre)]}+{tail.path[len(pre)]}"
    merged = to_standard(dw, pw)
    added = [LayerRecord(path=(*pre, name), op=merged, inputs=head.inputs, origin=head.origin)]
    old_main = costs[p.head].output_shape
    new_main = cost_of(merged, head.inputs).output_shape
    mapping: dict[Shape, Shape] = {old_main: new_main}
    for j in p.gates:
        rec = records[j]
        new_inputs = tuple(mapping.get(s, s) for s in rec.inputs)
        op = _recast(rec.op, rec.inputs[0], new_inputs[0], costs[j].output_shape,
                     dw.out_channels, merged.out_channels)
        out = cost_of(op, new_inputs).output_shape
        mapping.setdefault(costs[j].output_shape, out)
        added.append(replace(rec, op=op, inputs=new_inputs, sources=None))
    rule = Rule.PAIR_LINEAR if isinstance(pw, Linear) else Rule.PAIR
    removed = tuple(sorted({p.head, p.tail, *p.between, *p.gates}))
    return Unit(rule, Variant.STANDARD, p.head, p.tail, removed, tuple(added),
                moved=len(p.gates), dropped=len(p.between))


def _dense_unit(records: Sequence[LayerRecord], i: int) -> Unit:
    dw = records[i].op
    assert isinstance(dw, Conv)
    rec = replace(records[i], op=to_dense(dw), sources=None)
    return Unit(Rule.DENSE, Variant.STANDARD, i, i, (i,), (rec,))


def _separate_unit(records: Sequence[LayerRecord], costs: Sequence[Cost],
                   consumers: list[list[int]], i: int) -> Unit:
    rec = records[i]
    conv = rec.op
    assert isinstance(conv, Conv)
    dw, pw = to_separable(conv)
    dw_shape = cost_of(dw, rec.inputs).output_shape
    added = [replace(rec, path=(*rec.path, "dw"), op=dw, sources=None)]
    # copies of the norm/activation that follow the conv, at its input channels
    cur, shape = i, costs[i].output_shape
    while len(consumers[cur]) == 1:
        j = consumers[cur][0]
        b = records[j]
        if not isinstance(b.op, BatchNorm | Activation | Dropout) or b.inputs != (shape,):
            break
        b_op = replace(b.op, num_features=dw.out_channels) if isinstance(b.op, BatchNorm) \
            else b.op
        added.append(replace(b, path=(*rec.path, f"dw_{b.path[-1]}"), op=b_op,
                             inputs=(dw_shape,), sources=None))
        cur, shape = j, costs[j].output_shape
    added.append(replace(rec, path=(*rec.path, "pw"), op=pw, inputs=(dw_shape,), sources=None))
    rule = Rule.SEPARATE if conv.groups == 1 else Rule.SEPARATE_GROUPED
    return Unit(rule, Variant.SEPARABLE, i, i, (i,), tuple(added))


@dataclass(frozen=True)
class Plan:
    """Every rewrite of a network, both ways, and a verdict for every convolution."""

    pairing: Pairing
    units: dict[Variant, tuple[Unit, ...]]
    verdicts: dict[int, Verdict]


def _describe_lone(records: Sequence[LayerRecord], lone: Lone) -> str:
    where = f" ({lone.where})" if lone.where else ""
    return f"no pointwise partner: {lone.reason}{where}; dense conv with the same channels"


def plan(records: Sequence[LayerRecord], costs: Sequence[Cost]) -> Plan:
    """Pair, then plan each rewrite; linear in the number of records."""
    pairing = find_pairs(records, costs)
    std: list[Unit] = []
    sep: list[Unit] = []
    verdicts: dict[int, Verdict] = {}
    for i, p in pairing.pairs.items():
        try:
            unit = _pair_unit(records, costs, p)
        except ConvcostError:  # a squeeze-excite that cannot sit at the new width
            pairing.lone[i] = Lone(i, "its squeeze-excite cannot be re-costed after a merge")
            del pairing.tails[p.tail]
            continue
        std.append(unit)
        se = f", squeeze-excite ({len(p.gates)} layers) moved after it" if p.gates else ""
        half = "linear layer over channels" if unit.rule is Rule.PAIR_LINEAR else "pointwise"
        verdicts[i] = Verdict(unit.rule, f"depthwise + {half} ({records[p.tail].name}) as "
                              f"one standard conv{se}")
        verdicts[p.tail] = Verdict(Rule.HALF, f"pointwise half of {records[i].name}")
    pairing.pairs = {i: p for i, p in pairing.pairs.items() if i not in pairing.lone}
    for i, lone in pairing.lone.items():
        std.append(_dense_unit(records, i))
        verdicts[i] = Verdict(Rule.DENSE, _describe_lone(records, lone))
    for i, rec in enumerate(records):
        op = rec.op
        if not isinstance(op, Conv) or i in verdicts:
            continue
        if can_separate(op):
            unit = _separate_unit(records, costs, pairing.consumers, i)
            sep.append(unit)
            what = "grouped pointwise" if unit.rule is Rule.SEPARATE_GROUPED else "pointwise"
            verdicts[i] = Verdict(unit.rule, f"{op.kernel_label()} conv as depthwise + {what}")
        elif op.transposed:
            verdicts[i] = Verdict(Rule.NONE, "transposed conv: no separable form")
        elif op.role is ConvRole.GROUPED:
            verdicts[i] = Verdict(Rule.NONE, "grouped 1×1 conv: already pointwise")
        else:
            verdicts[i] = Verdict(Rule.NONE, "1×1 conv: already pointwise")
    std.sort(key=lambda u: u.head)
    return Plan(pairing, {Variant.STANDARD: tuple(std), Variant.SEPARABLE: tuple(sep)},
                verdicts)


def apply(records: Sequence[LayerRecord], units: Sequence[Unit]) -> list[LayerRecord]:
    """The network with ``units`` applied. Data-flow links are dropped (re-inferred later)."""
    by_head = {u.head: u for u in units}
    removed = {k for u in units for k in u.removed}
    out: list[LayerRecord] = []
    for i, rec in enumerate(records):
        if i in by_head:
            out.extend(by_head[i].added)
        elif i not in removed:
            out.append(rec.without_sources())
    return out


@dataclass(frozen=True)
class Tally:
    """What a variant rewrote and what it left as written, and why: (description, count)."""

    rewritten: tuple[tuple[str, int], ...]
    left: tuple[tuple[str, int], ...]


def _count(items: Sequence[str]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for s in items:
        counts[s] = counts.get(s, 0) + 1
    return tuple(counts.items())


def tally(records: Sequence[LayerRecord], p: Plan) -> dict[Variant, Tally]:
    std_done: list[str] = []
    std_left: list[str] = []
    sep_done: list[str] = []
    sep_left: list[str] = []
    for i, v in sorted(p.verdicts.items()):
        op = records[i].op
        if v.rule in (Rule.PAIR, Rule.PAIR_LINEAR):
            half = "linear" if v.rule is Rule.PAIR_LINEAR else "pw"
            se = " through squeeze-excite" if p.pairing.pairs[i].gates else ""
            std_done.append(f"dw + {half} pairs{se} → one conv")
            sep_left.append("depthwise convs: already separable")
        elif v.rule is Rule.DENSE:
            reason = p.pairing.lone[i].reason
            std_done.append(f"depthwise convs with no pointwise partner ({reason}) → dense conv")
            sep_left.append("depthwise convs: already separable")
        elif v.rule is Rule.HALF:
            sep_left.append("pointwise halves of pairs: already separable")
        elif v.rule in (Rule.SEPARATE, Rule.SEPARATE_GROUPED):
            grouped = v.rule is Rule.SEPARATE_GROUPED
            sep_done.append("grouped k×k convs → dw + grouped pw" if grouped
                            else "k×k convs → dw + pw")
            std_left.append("grouped k×k convs: kept grouped" if grouped
                            else "k×k convs: already standard")
        else:
            reason = v.note.replace(" conv:", " convs:")
            std_left.append(reason.replace("already pointwise", "already standard")
                            if isinstance(op, Conv) and op.role is ConvRole.POINTWISE
                            else reason)
            sep_left.append(reason)
    return {
        Variant.STANDARD: Tally(_count(std_done), _count(std_left)),
        Variant.SEPARABLE: Tally(_count(sep_done), _count(sep_left)),
    }
