"""ONNX element-wise ops, activations and reductions -> core ops, with the patterns torch's
exporter writes for one torch op: ``x * Sigmoid(x)`` (SiLU), ``x * HardSigmoid(x)``
(HardSwish), ``x * 0.5 * (1 + erf(x / √2))`` (GELU)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    Elementwise,
    PoolMode,
    Reduce,
)
from convcost.frontends.onnx_tables import (
    ACTIVATIONS,
    ELEMENTWISE,
    REDUCTIONS,
    Unsupported,
    attrs,
    handles,
)

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker


@handles(*ACTIVATIONS)
def _activation(w: Walker, node: Any) -> None:
    fn = ACTIVATIONS[node.op_type]
    w.emit(node, Activation(fn), [w.shape(node.input[0], node)], str(fn))


@handles("Clip")
def _clip(w: Walker, node: Any) -> None:
    a = attrs(node)
    lo: Any = a.get("min")
    hi: Any = a.get("max")
    if w.inp(node, 1):
        lo = w.value(node.input[1])
    if w.inp(node, 2):
        hi = w.value(node.input[2])
    xs = w.shape(node.input[0], node)
    try:
        relu6 = lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0
    except (TypeError, ValueError):
        relu6 = False
    if relu6:
        w.emit(node, Activation(ActivationFn.RELU6), [xs], "relu6")
    else:
        w.emit(node, Elementwise("clamp"), [xs], "clamp")


def _gate_pattern(w: Walker, node: Any) -> ActivationFn | None:
    """Mul(x, Sigmoid(x)) is SiLU; Mul(x, HardSigmoid(x)) with α = 1/6, β = 1/2 is HardSwish."""
    if node.op_type != "Mul" or len(node.input) != 2:
        return None
    for gate_name, x in ((node.input[1], node.input[0]), (node.input[0], node.input[1])):
        gate = w.producers.get(w.resolve(gate_name))
        if gate is None or not gate.input or w.resolve(gate.input[0]) != w.resolve(x):
            continue
        if w.single_use(gate_name) is not node:
            continue
        if gate.op_type == "Sigmoid":
            fn = ActivationFn.SILU
        elif gate.op_type == "HardSigmoid":
            a = attrs(gate)
            if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
                continue
            fn = ActivationFn.HARDSWISH
        else:
            continue
        w.pending = [p for p in w.pending if p.node is not gate]
        return fn
    return None


@handles(*(op for op in ELEMENTWISE if op != "Erf"))
def _elementwise(w: Walker, node: Any) -> None:
    fn = _gate_pattern(w, node)
    if fn is not None:
        w.emit(node, Activation(fn), [w.shape(node.input[0], node)], str(fn))
        return
    name = ELEMENTWISE[node.op_type]
    shapes = [w.shape(i, node) for i in node.input if i and not _scalar(w, i)]
    if not shapes:
        shapes = [w.shape(node.input[0], node)]
    if name == "add" and len(shapes) >= 2 and all(s == shapes[0] for s in shapes):
        w.emit(node, Add(), shapes, "add")
        return
    w.emit(node, Elementwise(name), shapes, name)


@handles("Erf")
def _erf(w: Walker, node: Any) -> None:
    """``x * 0.5 * (1 + erf(x / √2))`` (torch's exporter below opset 20) is one GELU."""
    chain = _gelu_chain(w, node)
    if chain is None:
        _elementwise(w, node)
        return
    x, before, after = chain
    w.pending = [p for p in w.pending if all(p.node is not b for b in before)]
    w.done.update(id(n) for n in after)
    w.emit(after[-1], Activation(ActivationFn.GELU), [w.shape(x, node)], "gelu")


def _gelu_chain(w: Walker, erf: Any) -> tuple[str, list[Any], list[Any]] | None:
    def other(n: Any, known: str) -> str | None:
        rest = [i for i in n.input if w.resolve(i) != w.resolve(known)]
        return rest[0] if len(rest) == 1 else None

    div = w.producers.get(w.resolve(erf.input[0]))
    if div is None or div.op_type not in ("Div", "Mul") or not _scalar(w, div.input[1]):
        return None
    x = div.input[0]
    add = w.single_use(erf.output[0])
    if add is None or add.op_type != "Add" or not _scalar(w, other(add, erf.output[0]) or ""):
        return None
    mul = w.single_use(add.output[0])
    if mul is None or mul.op_type != "Mul":
        return None
    partner = other(mul, add.output[0]) or ""
    if w.resolve(partner) == w.resolve(x):
        last = w.single_use(mul.output[0])
        if last is None or last.op_type != "Mul" or \
                not _scalar(w, other(last, mul.output[0]) or ""):
            return None
        return x, [div], [add, mul, last]
    half = w.producers.get(w.resolve(partner))
    if half is None or half.op_type != "Mul" or w.single_use(partner) is not mul or \
            w.resolve(half.input[0]) != w.resolve(x) or not _scalar(w, half.input[1]):
        return None
    return x, [div, half], [add, mul]


def _scalar(w: Walker, name: str) -> bool:
    """A one-element constant: a Python number in the source model."""
    shape = w.g.shapes.get(w.resolve(name))
    return w.param(name) and shape is not None and math.prod(shape) == 1


def _axes(w: Walker, node: Any) -> tuple[int, ...] | None:
    a = attrs(node)
    if "axes" in a:
        return tuple(int(x) for x in a["axes"])
    if w.inp(node, 1):
        value = w.value(node.input[1])
        if value is None:
            raise Unsupported
        return tuple(int(x) for x in list(value.reshape(-1)))
    return None


@handles(*REDUCTIONS)
def _reduce(w: Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    a = attrs(node)
    if node.op_type in ("ArgMax", "ArgMin"):
        axes: tuple[int, ...] | None = (int(a.get("axis", 0)),)
    else:
        axes = _axes(w, node)
    keep = bool(a.get("keepdims", 1))
    rank = len(xs)
    normal = sorted({x % rank for x in axes}) if axes else []
    if node.op_type == "ReduceMean" and keep and rank >= 3 and normal == list(range(2, rank)):
        # the mean over every spatial position: torch's AdaptiveAvgPool(1), as exported
        w.emit(node, AdaptivePool(PoolMode.AVG, (1,) * (rank - 2)), [xs], "adaptive_avg_pool")
        return
    if not axes and a.get("noop_with_empty_axes", 0):
        w.ignored[node.op_type] = w.ignored.get(node.op_type, 0) + 1
        return
    name = REDUCTIONS[node.op_type]
    w.emit(node, Reduce(name, tuple(normal), keep), [xs], name)


