"""The core's formulas against closed forms written as arithmetic."""

from __future__ import annotations

import pytest

from convcost.core import (
    Activation,
    Add,
    BatchNorm,
    Concat,
    Conv,
    ConvRole,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Pool,
    compare,
    cost_of,
    paper_ratio,
    to_separable,
    to_standard,
)
from convcost.core.registry import RegistryError, formula
from convcost.errors import InputError, ShapeError


def test_paper_table3_standard_vs_separable() -> None:
    # 14×14×512 -> 512, D_K = 3 (MobileNets, Table 3)
    dk, m, n, df = 3, 512, 512, 14
    c = compare(Conv.make(m, n, dk, padding="same"), (1, m, df, df))
    assert c.standard.macs == dk * dk * m * n * df * df == 462_422_016
    assert c.separable.macs == dk * dk * m * df * df + m * n * df * df == 52_283_392
    assert c.standard.params == dk * dk * m * n == 2_359_296
    assert c.separable.params == dk * dk * m + m * n == 266_752
    assert c.ratio_exact == pytest.approx(1 / n + 1 / dk**2, rel=1e-12)
    assert c.ratio_formula == pytest.approx(1 / n + 1 / dk**2, rel=1e-12)
    # the paper prints millions, rounded
    assert round(c.standard.macs / 1e6) == 462
    assert round(c.separable.macs / 1e6, 1) == 52.3
    assert round(c.standard.params / 1e6, 2) == 2.36
    assert round(c.separable.params / 1e6, 2) == 0.27


def test_strided_same_padding_gives_ceil_outputs() -> None:
    op = Conv.make(3, 32, 3, stride=2, padding="same")
    assert cost_of(op, [(1, 3, 224, 224)]).output_shape == (1, 32, 112, 112)
    assert cost_of(op, [(1, 3, 7, 7)]).output_shape == (1, 32, 4, 4)


def test_even_kernel_same_padding_keeps_size() -> None:
    op = Conv.make(8, 8, 4, padding="same")
    assert op.padding == ((1, 2), (1, 2))
    assert cost_of(op, [(1, 8, 10, 10)]).output_shape == (1, 8, 10, 10)


def test_conv_general_formula_with_everything() -> None:
    # Conv3d, groups 2, dilation 2, stride (1,2,2), padding 1, bias
    op = Conv.make(4, 6, (3, 3, 3), stride=(1, 2, 2), padding=1, dilation=2, groups=2, bias=True)
    c = cost_of(op, [(2, 4, 9, 11, 12)])
    out = [(9 + 2 - 2 * 2 - 1) // 1 + 1, (11 + 2 - 4 - 1) // 2 + 1, (12 + 2 - 4 - 1) // 2 + 1]
    assert c.output_shape == (2, 6, *out)
    n_out = 2 * 6 * out[0] * out[1] * out[2]
    assert c.macs == n_out * (4 // 2) * 27
    assert c.weights == 6 * 2 * 27
    assert c.bias == 6
    assert c.other_ops == n_out  # bias adds
    assert c.flops == 2 * c.macs


def test_transposed_conv_with_output_padding() -> None:
    op = Conv.make(16, 8, 3, stride=2, padding=1, transposed=True, output_padding=1)
    c = cost_of(op, [(1, 16, 7, 7)])
    assert c.output_shape == (1, 8, (7 - 1) * 2 - 2 + 2 + 1 + 1, 14)
    assert c.macs == 1 * 16 * 7 * 7 * 8 * 9  # input elements × C_out × kernel
    assert c.weights == 16 * 8 * 9


def test_conv1d_and_depth_multiplier() -> None:
    conv = Conv.make(10, 20, 5, dims=1, padding="same")
    dw, pw = to_separable(conv, depth_multiplier=2)
    assert dw.role is ConvRole.DEPTHWISE and dw.out_channels == 20 and dw.groups == 10
    assert pw.role is ConvRole.POINTWISE and pw.in_channels == 20
    c = compare(conv, (1, 10, 100), depth_multiplier=2)
    assert c.depthwise.macs == 5 * 10 * 2 * 100
    assert c.pointwise.macs == 20 * 20 * 100
    assert c.ratio_exact == pytest.approx(c.ratio_formula)
    assert paper_ratio((5,), 20, 2) == pytest.approx(2 * (1 / 20 + 1 / 5))


def test_rewrite_roundtrip() -> None:
    conv = Conv.make(32, 64, 3, stride=2, padding="same", dilation=2)
    dw, pw = to_separable(conv)
    assert to_standard(dw, pw) == conv


def test_memory_traffic_and_intensity() -> None:
    op = Conv.make(32, 64, 3, padding=1)
    c = cost_of(op, [(1, 32, 56, 56)])
    elems = 32 * 56 * 56 + 64 * 56 * 56 + 64 * 32 * 9
    assert c.bytes == 4 * elems
    assert c.intensity == pytest.approx(c.macs / c.bytes)
    from convcost.core import DType

    assert cost_of(op, [(1, 32, 56, 56)], DType.FLOAT16).bytes == 2 * elems


def test_other_layers() -> None:
    x = (2, 8, 10, 10)
    bn = cost_of(BatchNorm(8), [x])
    assert (bn.affine, bn.buffers, bn.other_ops, bn.macs) == (16, 17, 2 * 1600, 0)
    assert cost_of(Activation(), [x]).other_ops == 1600
    mp = cost_of(Pool.make("max", 3, stride=2, padding=1), [x])
    assert mp.output_shape == (2, 8, 5, 5) and mp.other_ops == 2 * 8 * 25 * 9
    ap = cost_of(Pool.make("avg", 2, ceil_mode=True), [(1, 1, 5, 5)])
    assert ap.output_shape == (1, 1, 3, 3)
    gp = cost_of(GlobalPool(), [x])
    assert gp.output_shape == (2, 8, 1, 1) and gp.other_ops == 1600
    assert cost_of(Add(), [x, x]).other_ops == 1600
    assert cost_of(Concat(), [x, (2, 4, 10, 10)]).output_shape == (2, 12, 10, 10)
    fl = cost_of(Flatten(), [x])
    assert fl.output_shape == (2, 800) and fl.bytes == 0
    assert cost_of(Dropout(), [x]).bytes == 0
    fc = cost_of(Linear(800, 10), [(2, 800)])
    assert (fc.macs, fc.weights, fc.bias, fc.other_ops) == (2 * 800 * 10, 8000, 10, 20)


@pytest.mark.parametrize(
    ("make", "shape", "needle"),
    [
        (lambda: Conv.make(3, 8, 7, padding="valid"), (1, 3, 5, 5), "larger than the padded"),
        (lambda: Conv.make(3, 8, 3), (1, 4, 5, 5), "expects 3 input channels"),
        (lambda: Linear(10, 2), (1, 11), "expects 10 input features"),
        (lambda: Add(), None, "cannot add"),
    ],
)
def test_shape_errors(make, shape, needle) -> None:  # type: ignore[no-untyped-def]
    op = make()
    inputs = [shape] if shape else [(1, 2, 3, 3), (1, 3, 3, 3)]
    with pytest.raises(ShapeError, match=needle):
        cost_of(op, inputs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"groups": 3},
        {"padding": "half"},
        {"padding": -1},
        {"stride": 0},
        {"dilation": 0},
    ],
)
def test_bad_conv_specs(kwargs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        Conv.make(4, 8, 3, **kwargs)


def test_registry_refuses_a_second_formula() -> None:
    with pytest.raises(RegistryError):
        formula(Conv)(lambda op, inputs: None)  # type: ignore[type-var]
