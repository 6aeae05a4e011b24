"""Property test: over random convolution and linear layers, the walk's MACs equal
torch.utils.flop_counter.FlopCounterMode's FLOPs / 2 and its params equal the module's."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from convcost.frontends.torch_api import analyze_model

CONVS = {
    (1, False): nn.Conv1d, (2, False): nn.Conv2d, (3, False): nn.Conv3d,
    (1, True): nn.ConvTranspose1d, (2, True): nn.ConvTranspose2d, (3, True): nn.ConvTranspose3d,
}


@st.composite
def conv_layers(draw: st.DrawFn) -> tuple[nn.Module, tuple[int, ...]]:
    dims = draw(st.integers(1, 3))
    transposed = draw(st.booleans())
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    small = 3 if dims == 3 else 5
    kernel = tuple(draw(st.integers(1, small)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = tuple(
        draw(st.integers(0, d * (k - 1) // 2)) for k, d in zip(kernel, dilation, strict=True)
    )
    size_cap = 9 if dims == 3 else 20
    spatial = tuple(
        draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), size_cap))
        for k, d, p in zip(kernel, dilation, padding, strict=True)
    )
    batch = draw(st.integers(1, 3))
    kw: dict[str, object] = dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups, bias=draw(st.booleans())
    )
    if transposed:
        kw["output_padding"] = tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)
        )
    with torch.device("meta"):
        layer = CONVS[(dims, transposed)](cin, cout, kernel, **kw)
    return layer, (batch, cin, *spatial)


@st.composite
def linear_layers(draw: st.DrawFn) -> tuple[nn.Module, tuple[int, ...]]:
    fin, fout = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    lead = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    with torch.device("meta"):
        layer = nn.Linear(fin, fout, bias=draw(st.booleans()))
    return layer, (*lead, fin)


def reference_macs(layer: nn.Module, shape: tuple[int, ...]) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        layer(torch.empty(shape, device="meta"))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


@settings(max_examples=200)
@given(st.one_of(conv_layers(), linear_layers()))
def test_walk_matches_flop_counter(case: tuple[nn.Module, tuple[int, ...]]) -> None:
    layer, shape = case
    analysis = analyze_model(layer, shape)
    assert analysis.totals.macs == reference_macs(layer, shape)
    assert analysis.totals.params == sum(p.numel() for p in layer.parameters())
    assert len(analysis.rows) == 1 and not analysis.uncounted
