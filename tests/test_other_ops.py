"""Arithmetic the counting convention promises for "other ops", reduction shapes against torch,
and a dropout between the halves of a separable pair."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convcost.core import Activation, BatchNorm, Conv, Dropout, Linear, cost_of
from convcost.core.analysis import Variant, analyze_records
from convcost.core.ops import Attention, Norm, NormFn, Reduce
from convcost.core.records import LayerRecord
from convcost.frontends.torch_api import analyze_model

# ---------------------------------------------------------------- attention


@pytest.mark.parametrize(("b", "h", "kv", "length", "s", "e", "ev"),
                         [(2, 4, 4, 5, 7, 8, 6), (1, 8, 2, 3, 9, 4, 4), (3, 1, 1, 1, 1, 1, 1)])
def test_attention_counts_one_softmax_op_per_score(
    b: int, h: int, kv: int, length: int, s: int, e: int, ev: int
) -> None:
    c = cost_of(Attention(), [(b, h, length, e), (b, kv, s, e), (b, kv, s, ev)])
    scores = b * h * length * s
    assert c.output_shape == (b, h, length, ev)
    assert c.macs == scores * e + scores * ev  # q·kᵀ, then scores·v
    assert c.other_ops == scores
    assert c.params == 0


def test_fused_attention_other_ops_in_a_torch_model() -> None:
    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 4, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.attn(x, x, x)[0]
            return out

    b, h, n = 2, 4, 5
    a = analyze_model(SelfAttention(), (b, n, 16))  # cpu weights, no grad: the fused path
    (row,) = [r for r in a.rows if isinstance(r.record.op, Attention)]
    assert row.cost.other_ops == b * h * n * n
    assert row.cost.macs == 2 * b * h * n * n * (16 // h)


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(("weight", "bias"), [(True, True), (True, False), (False, False)])
def test_layer_norm_scale_and_shift_are_one_op_each(weight: bool, bias: bool) -> None:
    x = (2, 5, 16)
    c = cost_of(Norm(NormFn.LAYER, (16,), weight=weight, bias=bias), [x])
    elements = 2 * 5 * 16
    # statistics and normalisation: 2 ops per element; scale and shift: 1 each when present
    assert c.other_ops == elements * (2 + weight + bias)
    assert c.affine == 16 * (weight + bias)
    assert c.macs == 0


def test_group_norm_and_batch_norm_arithmetic() -> None:
    x = (2, 8, 3, 3)
    g = cost_of(Norm(NormFn.GROUP, (8,), groups=4), [x])
    assert (g.other_ops, g.affine) == (2 * 8 * 9 * 4, 2 * 8)
    bn = cost_of(BatchNorm(8), [x])
    # inference batch-norm folds into one scale and one shift per element
    assert (bn.other_ops, bn.affine, bn.buffers) == (2 * 2 * 8 * 9, 16, 2 * 8 + 1)


@pytest.mark.parametrize(("weight", "bias"), [(True, True), (True, False), (False, False)])
def test_layer_norm_in_a_torch_model(weight: bool, bias: bool) -> None:
    model = nn.LayerNorm(16, elementwise_affine=weight, bias=bias)
    a = analyze_model(model, (2, 5, 16))
    assert a.totals.other_ops == 2 * 5 * 16 * (2 + weight + bias)
    assert a.totals.params == sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- linear bias


@pytest.mark.parametrize("bias", [True, False])
def test_linear_bias_add_is_one_other_op_per_output(bias: bool) -> None:
    c = cost_of(Linear(8, 16, bias=bias), [(2, 5, 8)])
    assert c.macs == 2 * 5 * 8 * 16
    assert c.other_ops == (2 * 5 * 16 if bias else 0)
    assert (c.weights, c.bias) == (8 * 16, 16 if bias else 0)


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("shape", [(3, 8), (2, 5, 8)])
def test_torch_linear_bias_folds_into_its_row(device: str, shape: tuple[int, ...]) -> None:
    with torch.device(device):
        model = nn.Sequential(nn.Linear(8, 16), nn.Linear(16, 4, bias=False))
    a = analyze_model(model, shape)
    positions = 1
    for n in shape[:-1]:
        positions *= n
    # one row per layer: the bias add is the first row's other ops, not a row of its own
    assert [type(r.record.op) for r in a.rows] == [Linear, Linear]
    assert [r.cost.other_ops for r in a.rows] == [positions * 16, 0]
    assert a.totals.macs == positions * (8 * 16 + 16 * 4)
    assert not a.uncounted


# ---------------------------------------------------------------- reductions


@st.composite
def _reductions(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], bool]:
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    rank = len(shape)
    axes = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    dims = tuple(d - rank if draw(st.booleans()) else d for d in axes)
    return shape, dims, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(_reductions())
def test_reduction_shape_matches_torch(case: tuple[tuple[int, ...], tuple[int, ...], bool]) -> None:
    shape, dims, keepdim = case
    expected = tuple(torch.zeros(shape).sum(dim=dims, keepdim=keepdim).shape)
    c = cost_of(Reduce("sum", dims, keepdim), [shape])
    assert c.output_shape == expected
    assert c.other_ops == torch.zeros(shape).numel()


def test_reduction_over_everything() -> None:
    assert cost_of(Reduce("mean"), [(2, 3, 4)]).output_shape == ()
    assert cost_of(Reduce("mean", (), keepdim=True), [(2, 3, 4)]).output_shape == (1, 1, 1)


def test_torch_keepdim_reductions() -> None:
    class R(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.sum(dim=(1, -1), keepdim=True) + x.mean(1)[:, None, :]

    a = analyze_model(R(), (2, 3, 4))
    shapes = {type(r.record.op).__name__ + str(i): r.cost.output_shape
              for i, r in enumerate(a.rows)}
    assert shapes == {"Reduce0": (2, 1, 1), "Reduce1": (2, 4), "Elementwise2": (2, 1, 4)}


# ---------------------------------------------------------------- dropout in a pair


def _pair_with_dropout() -> list[LayerRecord]:
    x = (1, 32, 14, 14)
    dw = Conv.make(32, 32, 3, padding=1, groups=32)
    pw = Conv.make(32, 64, 1)
    return [
        LayerRecord(("dw",), dw, (x,)),
        LayerRecord(("bn",), BatchNorm(32), (x,)),
        LayerRecord(("relu",), Activation(), (x,)),
        LayerRecord(("drop",), Dropout(0.2), (x,)),
        LayerRecord(("pw",), pw, (x,)),
    ]


def test_dropout_between_depthwise_and_pointwise_keeps_the_pair() -> None:
    records = _pair_with_dropout()
    a = analyze_records(records, name="pair", input_shapes=[(1, 32, 14, 14)])
    head = a.rows[0]
    assert head.alternative is not None
    assert head.alternative.kind is Variant.STANDARD and head.alternative.span == (0, 4)
    assert a.rows[4].pair_head == 0
    standard = 3 * 3 * 32 * 64 * 14 * 14
    assert head.alternative.macs == standard
    assert a.variants[Variant.STANDARD].macs == standard
    # the standard rewrite: one conv where the pair and what sat between it were
    rewritten = analyze_records(records, name="pair", input_shapes=[(1, 32, 14, 14)],
                                rewrite_as=Variant.STANDARD)
    assert [type(r.record.op) for r in rewritten.rows] == [Conv]


def test_dropout_between_depthwise_and_pointwise_in_torch() -> None:
    with torch.device("meta"):
        model = nn.Sequential(
            nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.BatchNorm2d(32),
            nn.ReLU(), nn.Dropout(0.2), nn.Conv2d(32, 64, 1, bias=False),
        )
    a = analyze_model(model, (1, 32, 14, 14))
    assert a.variants[Variant.STANDARD].macs == 3 * 3 * 32 * 64 * 14 * 14
    assert a.rows[0].alternative is not None and a.rows[0].alternative.span[1] == len(a.rows) - 1
