"""Our conv formulas against torch.utils.flop_counter and fvcore over random configurations."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost.core import Conv, Linear, cost_of

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from convcost.build.registry import layer_for  # noqa: E402


@dataclass(frozen=True)
class Case:
    op: Conv
    shape: tuple[int, ...]


@st.composite
def conv_cases(draw: st.DrawFn) -> Case:
    dims = draw(st.sampled_from([1, 2, 3]))
    groups = draw(st.sampled_from([1, 1, 2, 3, 4]))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    kmax = 4 if dims < 3 else 3
    kernel = tuple(draw(st.integers(1, kmax)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    transposed = draw(st.booleans())
    bias = draw(st.booleans())
    batch = draw(st.integers(1, 2))
    if transposed:
        padding: int | tuple[int, ...] | str = tuple(draw(st.integers(0, 2)) for _ in range(dims))
        out_pad = tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)
        )
        spatial = tuple(draw(st.integers(3, 7)) for _ in range(dims))
        op = Conv.make(cin, cout, kernel, dims=dims, stride=stride, padding=padding,
                       dilation=dilation, groups=groups, bias=bias, transposed=True,
                       output_padding=out_pad)
        from convcost.errors import ShapeError

        try:
            cost_of(op, [(batch, cin, *spatial)])
        except ShapeError:
            spatial = tuple(s + 6 for s in spatial)
    else:
        padding = draw(st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 2)))
        op = Conv.make(cin, cout, kernel, dims=dims, stride=stride, padding=padding,
                       dilation=dilation, groups=groups, bias=bias)
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
        spatial = tuple(
            max(1, span - lo - hi) + draw(st.integers(0, 6))
            for span, (lo, hi) in zip(spans, op.padding, strict=True)
        )
    return Case(op, (batch, cin, *spatial))


def _torch_counts(case: Case) -> tuple[int, int, tuple[int, ...]]:
    with torch.device("meta"):
        module = layer_for(case.op)
        x = torch.empty(case.shape)
    counter = FlopCounterMode(display=False)
    with counter:
        y = module(x)
    params = sum(p.numel() for p in module.parameters())
    return counter.get_total_flops(), params, tuple(y.shape)


@settings(max_examples=2000)
@given(conv_cases())
def test_conv_macs_equal_torch_flop_counter_halved(case: Case) -> None:
    ours = cost_of(case.op, [case.shape])
    flops, params, shape = _torch_counts(case)
    assert ours.output_shape == shape
    assert ours.macs * 2 == flops
    assert ours.flops == flops
    assert ours.params == params


@settings(max_examples=200)
@given(
    st.integers(1, 64), st.integers(1, 64), st.booleans(),
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
)
def test_linear_macs_equal_torch_flop_counter_halved(
    fin: int, fout: int, bias: bool, lead: list[int]
) -> None:
    op = Linear(fin, fout, bias)
    shape = (*lead, fin)
    with torch.device("meta"):
        module = layer_for(op)
        x = torch.empty(shape)
    counter = FlopCounterMode(display=False)
    with counter:
        module(x)
    ours = cost_of(op, [shape])
    assert 2 * ours.macs == counter.get_total_flops()
    assert ours.params == sum(p.numel() for p in module.parameters())


@settings(max_examples=40)
@given(conv_cases())
def test_conv_macs_equal_fvcore(case: Case) -> None:
    from convcost.reference.fvcore_count import fvcore_count

    module = layer_for(case.op).eval()
    with torch.no_grad():
        count = fvcore_count(module, (torch.zeros(case.shape),))
    assert count.total == cost_of(case.op, [case.shape]).macs
