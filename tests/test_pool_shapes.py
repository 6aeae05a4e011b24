"""Pooling output shapes against torch, ceil_mode, dilation and padding included."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convcost.core import Pool, PoolMode, cost_of
from convcost.core.ops import Shape
from convcost.errors import ConvcostError

_TORCH = {
    (PoolMode.MAX, 1): nn.MaxPool1d, (PoolMode.MAX, 2): nn.MaxPool2d,
    (PoolMode.MAX, 3): nn.MaxPool3d, (PoolMode.AVG, 1): nn.AvgPool1d,
    (PoolMode.AVG, 2): nn.AvgPool2d, (PoolMode.AVG, 3): nn.AvgPool3d,
}


def _torch_shape(mode: PoolMode, dims: int, kernel: int, stride: int, padding: int,
                 dilation: int, ceil: bool, shape: Shape) -> Shape | None:
    kw: dict[str, object] = {"kernel_size": kernel, "stride": stride, "padding": padding,
                             "ceil_mode": ceil}
    if mode is PoolMode.MAX:
        kw["dilation"] = dilation
    try:
        return tuple(_TORCH[mode, dims](**kw)(torch.zeros(shape)).shape)
    except (RuntimeError, ValueError):
        return None


def _our_shape(mode: PoolMode, dims: int, kernel: int, stride: int, padding: int,
               dilation: int, ceil: bool, shape: Shape) -> Shape | None:
    try:
        op = Pool(mode=mode, kernel=(kernel,) * dims, stride=(stride,) * dims,
                  padding=(padding,) * dims, dilation=(dilation,) * dims, ceil_mode=ceil)
        return cost_of(op, [shape]).output_shape
    except ConvcostError:
        return None


@settings(max_examples=300, deadline=None)
@given(
    mode=st.sampled_from(list(PoolMode)),
    dims=st.integers(1, 3),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
    ceil=st.booleans(),
    size=st.integers(1, 9),
)
def test_pool_output_shape_matches_torch(
    mode: PoolMode, dims: int, kernel: int, stride: int, padding: int, dilation: int,
    ceil: bool, size: int,
) -> None:
    if mode is PoolMode.AVG:
        dilation = 1  # average pooling has no dilation in torch
    shape = (1, 2, *(size,) * dims)
    args = (mode, dims, kernel, stride, padding, dilation, ceil, shape)
    assert _our_shape(*args) == _torch_shape(*args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # ceil_mode lets the one window overhang the input: torch gives length 1
        ((PoolMode.MAX, 1, 2, 3, 0, 1, True, (1, 4, 1)), (1, 4, 1)),
        ((PoolMode.AVG, 2, 2, 2, 0, 1, True, (1, 4, 1, 1)), (1, 4, 1, 1)),
        # torch's avg_pool3d refuses an input smaller than the kernel, padding or not
        ((PoolMode.AVG, 3, 3, 2, 1, 1, False, (1, 2, 2, 2, 2)), None),
        ((PoolMode.AVG, 2, 3, 2, 1, 1, False, (1, 2, 2, 2)), (1, 2, 1, 1)),
    ],
)
def test_pool_regressions(args: tuple[PoolMode, int, int, int, int, int, bool, Shape],
                          expected: Shape | None) -> None:
    assert _torch_shape(*args) == expected
    assert _our_shape(*args) == expected
