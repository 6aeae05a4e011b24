"""The formulas of resampling, recurrence and the other ops met in real models."""

from __future__ import annotations

import math

from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.formulas._shapes import one
from convcost.core.ops import (
    Einsum,
    EmbeddingBag,
    GridSample,
    Nms,
    Recurrent,
    RoiAlign,
    Shape,
    Upsample,
)
from convcost.errors import ShapeError

_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2,
         "bicubic": 4}
"""Input samples an interpolation reads per output element and spatial dimension."""


def _taps(mode: str, n_in: int, n_out: int, antialias: bool) -> int:
    base = _TAPS[mode]
    if not antialias or n_out >= n_in or base == 1:
        return base
    # an antialiased filter is widened by the downsampling factor (torch's _upsample_*_aa)
    support = base / 2 * n_in / n_out
    return 2 * math.ceil(support) + 1


@shape_rule(Upsample)
def upsample_shape(op: Upsample, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "upsampling")
    spatial = x[2:]
    if len(x) < 3 or (op.dims is not None and len(spatial) != op.dims):
        want = f"{op.dims + 2}-D" if op.dims is not None else "an (N, C, *spatial)"
        raise ShapeError(f"{op.mode} upsampling expects {want} input, got shape {list(x)}")
    if op.size:
        if len(op.size) != len(spatial):
            raise ShapeError(f"upsampling size {list(op.size)} does not match input {list(x)}")
        out_spatial = op.size
    else:
        scale = op.scale * len(spatial) if len(op.scale) == 1 else op.scale
        if len(scale) != len(spatial):
            raise ShapeError(f"upsampling scale {list(op.scale)} does not match input {list(x)}")
        out_spatial = tuple(math.floor(n * s) for n, s in zip(spatial, scale, strict=True))
        if any(n < 1 for n in out_spatial):
            raise ShapeError(f"upsampling {list(x)} by {list(op.scale)} leaves no output")
    return (*x[:2], *out_spatial)


@formula(Upsample)
def upsample(op: Upsample, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output element, one per input sample the interpolation reads (nearest 1,
    linear 2, bilinear 4, bicubic 16, trilinear 8), fvcore's count for nearest and bilinear
    extended to every mode."""
    out = upsample_shape(op, inputs)
    taps = 1
    for n_in, n_out in zip(inputs[0][2:], out[2:], strict=True):
        taps *= _taps(op.mode, n_in, n_out, op.antialias)
    return Cost(output_shape=out, other_ops=numel(out) * taps)


_GATE_OPS = {"lstm": 13, "gru": 10, "rnn_tanh": 2, "rnn_relu": 2}
"""Other ops per hidden unit and step, besides the bias: LSTM 4 sums of the two products, 3
sigmoids, 2 tanh, c = f*c + i*g (3), h = o*tanh(c) (1); GRU 2 sums, 2 sigmoids,
n = tanh(x_n + r*h_n) (3), h = n + z*(h - n) (3); RNN 1 sum and the activation."""


@shape_rule(Recurrent)
def recurrent_shape(op: Recurrent, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, f"{op.cell} layer")
    rank = (2, 3) if op.sequence else (1, 2)
    if len(x) not in rank or x[-1] != op.input_size:
        raise ShapeError(
            f"{op.cell} expects input of rank {rank[0]} or {rank[1]} with "
            f"{op.input_size} features, got shape {list(x)}"
        )
    return (*x[:-1], op.state_size)


@formula(Recurrent)
def recurrent(op: Recurrent, inputs: tuple[Shape, ...]) -> Cost:
    """MACs per step and batch row: gates x hidden x (input + state), plus hidden x proj for a
    projected LSTM (4·H·(I+H) LSTM, 3·H·(I+H) GRU, H·(I+H) RNN), as the decomposed path runs
    it; other ops: gate work (see ``_GATE_OPS``) and both biases (2 x gates x hidden)."""
    out = recurrent_shape(op, inputs)
    rows = numel(out[:-1])  # steps x batch
    g, h, state = op.gates, op.hidden_size, op.state_size
    weights = g * h * (op.input_size + state) + (state * h if op.proj_size else 0)
    bias = 2 * g * h if op.bias else 0
    return Cost(
        output_shape=out,
        macs=rows * weights,
        weights=weights,
        bias=bias,
        other_ops=rows * (h * _GATE_OPS[op.cell] + bias),
    )


@shape_rule(GridSample)
def grid_sample_shape(op: GridSample, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) != 2:
        raise ShapeError(f"grid_sample takes an input and a grid, got {len(inputs)} shapes")
    x, grid = inputs
    dims = len(x) - 2
    if dims not in (2, 3) or len(grid) != dims + 2 or grid[-1] != dims or grid[0] != x[0]:
        raise ShapeError(f"grid_sample: input {list(x)} and grid {list(grid)} do not match")
    return (x[0], x[1], *grid[1:-1])


@formula(GridSample)
def grid_sample(op: GridSample, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output element, one per input sample read (bilinear 4, trilinear 8,
    bicubic 16, nearest 1)."""
    out = grid_sample_shape(op, inputs)
    taps = _TAPS[op.mode] ** (len(inputs[0]) - 2)
    return Cost(output_shape=out, other_ops=numel(out) * taps)


@shape_rule(RoiAlign)
def roi_align_shape(op: RoiAlign, inputs: tuple[Shape, ...]) -> Shape:
    if len(inputs) != 2:
        raise ShapeError(f"roi_align takes features and boxes, got {len(inputs)} shapes")
    x, boxes = inputs
    if len(x) != 4 or len(boxes) != 2 or boxes[1] != 5:
        raise ShapeError(f"roi_align: features {list(x)} and boxes {list(boxes)}")
    return (boxes[0], x[1], *op.output_size)


@formula(RoiAlign)
def roi_align(op: RoiAlign, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: per output bin, sampling_ratio² bilinear samples of 4 reads each, and one
    op per sample to average them."""
    out = roi_align_shape(op, inputs)
    samples = op.sampling_ratio**2
    return Cost(output_shape=out, other_ops=numel(out) * samples * 5)


def _einsum_sizes(equation: str, inputs: tuple[Shape, ...]) -> tuple[dict[str, int], str]:
    eq = equation.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(inputs):
        raise ShapeError(f"einsum {equation!r} names {len(terms)} operands, got {len(inputs)}")
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, inputs, strict=True):
        if "..." in term:
            extra = len(shape) - (len(term) - 3)
            term = term.replace("...", "".join(chr(0x391 + i) for i in range(extra)))
        if len(term) != len(shape):
            raise ShapeError(f"einsum {equation!r}: {term!r} does not fit shape {list(shape)}")
        for letter, n in zip(term, shape, strict=True):
            if sizes.get(letter, n) != n and 1 not in (n, sizes[letter]):
                raise ShapeError(f"einsum {equation!r}: index {letter!r} has two sizes")
            sizes[letter] = max(n, sizes.get(letter, 1))
    if "->" not in eq:
        counts = {c: lhs.count(c) for c in sizes}
        rhs = "".join(sorted(c for c, k in counts.items() if k == 1 and c.isalpha()))
    if "..." in rhs:
        rhs = rhs.replace("...", "".join(c for c in sizes if not c.isascii()))
    return sizes, rhs


@shape_rule(Einsum)
def einsum_shape(op: Einsum, inputs: tuple[Shape, ...]) -> Shape:
    if not inputs:
        raise ShapeError("einsum needs at least one operand")
    sizes, rhs = _einsum_sizes(op.equation, inputs)
    return tuple(sizes[c] for c in rhs)


@formula(Einsum)
def einsum(op: Einsum, inputs: tuple[Shape, ...]) -> Cost:
    out = einsum_shape(op, inputs)
    sizes, _ = _einsum_sizes(op.equation, inputs)
    points = math.prod(sizes.values())
    if len(inputs) == 1:
        return Cost(output_shape=out, other_ops=points)
    return Cost(output_shape=out, macs=points)


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


@shape_rule(Nms)
def nms_shape(op: Nms, inputs: tuple[Shape, ...]) -> Shape:
    boxes = inputs[0] if inputs else ()
    if len(boxes) != 2 or boxes[1] != 4:
        raise ShapeError(f"nms takes boxes of shape (n, 4), got {list(boxes)}")
    return (boxes[0],)


@formula(Nms)
def nms(op: Nms, inputs: tuple[Shape, ...]) -> Cost:
    """Other ops: one IoU test per pair of boxes, n·(n−1)/2 (every pair tested; boxes already
    suppressed are skipped at run time, so this is the most it does)."""
    (n,) = nms_shape(op, inputs)
    return Cost(output_shape=(n,), other_ops=n * (n - 1) // 2)
