"""The formulas of ops met in torch models: products, attention, normalisations, element-wise
functions, reductions, embeddings."""

from __future__ import annotations

from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.formulas._shapes import one
from convcost.core.ops import (
    Attention,
    Elementwise,
    Embedding,
    FreeParameter,
    Matmul,
    Norm,
    NormFn,
    Reduce,
    Shape,
)
from convcost.errors import ShapeError


def _broadcast(shapes: tuple[Shape, ...], what: str) -> Shape:
    """torch's broadcasting rule: align on the right, sizes equal or 1."""
    rank = max(len(s) for s in shapes)
    out: list[int] = []
    for i in range(rank):
        sizes = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            listed = " and ".join(str(list(s)) for s in shapes)
            raise ShapeError(f"{what}: cannot broadcast shapes {listed}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@shape_rule(Matmul)
def matmul_shape(op: Matmul, inputs: tuple[Shape, ...]) -> Shape:
    return _matmul_parts(inputs)[0]


def _matmul_parts(inputs: tuple[Shape, ...]) -> tuple[Shape, int]:
    """The output shape and the inner size k."""
    if len(inputs) not in (2, 3):
        raise ShapeError(f"matmul takes two inputs (and an optional addend), got {len(inputs)}")
    a, b = inputs[0], inputs[1]
    if len(a) < 2 or len(b) < 2:
        raise ShapeError(f"matmul needs matrices, got shapes {list(a)} and {list(b)}")
    (m, k), (k2, n) = a[-2:], b[-2:]
    if k != k2:
        raise ShapeError(f"matmul: inner sizes differ, shapes {list(a)} and {list(b)}")
    batch = _broadcast((a[:-2], b[:-2]), "matmul batch") if a[:-2] or b[:-2] else ()
    return (*batch, m, n), k


@formula(Matmul)
def matmul(op: Matmul, inputs: tuple[Shape, ...]) -> Cost:
    out, k = _matmul_parts(inputs)
    added = numel(out) if len(inputs) == 3 else 0  # one add per output element
    return Cost(output_shape=out, macs=numel(out) * k, other_ops=added)


@shape_rule(Attention)
def attention_shape(op: Attention, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) != 3:
        raise ShapeError(f"attention takes q, k and v, got {len(inputs)} inputs")
    q, k, v = inputs
    if not (len(q) == len(k) == len(v) >= 3):
        raise ShapeError(
            f"attention needs q, k, v of one rank >= 3, got {list(q)}, {list(k)}, {list(v)}"
        )
    (length, e), (s, ek), (sv, ev) = q[-2:], k[-2:], v[-2:]
    if e != ek or s != sv or k[:-2] != v[:-2]:
        raise ShapeError(f"attention: incompatible q {list(q)}, k {list(k)}, v {list(v)}")
    if q[:-2] != k[:-2]:
        heads, kv_heads = q[-3], k[-3]
        if q[:-3] != k[:-3] or heads % kv_heads:
            raise ShapeError(f"attention: {heads} query heads do not share {kv_heads} kv heads")
    return (*q[:-2], length, ev)


@formula(Attention)
def attention(op: Attention, inputs: tuple[Shape, ...]) -> Cost:
    """MACs of q·kᵀ (L·S·E per head) and of scores·v (L·S·Ev per head), as
    torch.utils.flop_counter's sdpa_flop_count / 2; other ops: one softmax op per score."""
    out = attention_shape(op, inputs)
    q, k, v = inputs
    (length, e), s, ev = q[-2:], k[-2], v[-1]
    scores = numel(q[:-2]) * length * s
    return Cost(
        output_shape=out,
        macs=scores * e + scores * ev,
        other_ops=scores,
    )


@shape_rule(Norm)
def norm_shape(op: Norm, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, str(op.function))
    if op.function in (NormFn.LAYER, NormFn.RMS):
        if tuple(x[len(x) - len(op.shape) :]) != op.shape or len(x) < len(op.shape):
            raise ShapeError(f"{op.function} over {list(op.shape)} got input shape {list(x)}")
    elif len(x) < 2 or x[1] != op.shape[0] or x[1] % op.groups:
        raise ShapeError(f"{op.function} of {op.shape[0]} channels got input shape {list(x)}")
    return x


@formula(Norm)
def norm(op: Norm, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops per element: statistics 1 + normalise 1 + scale 1 (if weight) + shift 1
    (if bias)."""
    x = norm_shape(op, inputs)
    per = numel(op.shape)
    return Cost(
        output_shape=x,
        affine=per * (int(op.weight) + int(op.bias)),
        other_ops=numel(x) * (2 + int(op.weight) + int(op.bias)),
    )


@shape_rule(Elementwise)
def elementwise_shape(op: Elementwise, inputs: tuple[Shape, ...]) -> Shape:
    if not inputs:
        raise ShapeError(f"{op.function} needs at least one input")
    return _broadcast(inputs, op.function)


@formula(Elementwise)
def elementwise(op: Elementwise, inputs: tuple[Shape, ...]) -> Cost:
    out = elementwise_shape(op, inputs)
    return Cost(output_shape=out, other_ops=numel(out) * op.ops_per_element)


@shape_rule(Reduce)
def reduce_shape(op: Reduce, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, op.function)
    rank = len(x)
    dims = {d % rank for d in op.dims} if op.dims and rank else set(range(rank))
    if any(not -max(rank, 1) <= d < max(rank, 1) for d in op.dims):
        raise ShapeError(f"{op.function} over dims {list(op.dims)} of shape {list(x)}")
    if op.keepdim:
        return tuple(1 if i in dims else n for i, n in enumerate(x))
    return tuple(n for i, n in enumerate(x) if i not in dims)


@formula(Reduce)
def reduce(op: Reduce, inputs: tuple[Shape, ...]) -> Cost:
    out = reduce_shape(op, inputs)
    return Cost(output_shape=out, other_ops=numel(inputs[0]))  # every input element once


@shape_rule(Embedding)
def embedding_shape(op: Embedding, inputs: tuple[Shape, ...]) -> Shape:
    return (*one(inputs, "embedding"), op.embedding_dim)


@formula(Embedding)
def embedding(op: Embedding, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(
        output_shape=embedding_shape(op, inputs),
        weights=op.num_embeddings * op.embedding_dim,
    )


@shape_rule(FreeParameter)
def free_parameter_shape(op: FreeParameter, inputs: tuple[Shape, ...]) -> Shape:
    return (op.numel,)


@formula(FreeParameter, moves_data=False)  # read by the op that uses it, counted there
def free_parameter(op: FreeParameter, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(output_shape=free_parameter_shape(op, inputs), free=op.numel)
