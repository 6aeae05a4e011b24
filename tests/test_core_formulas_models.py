"""Formulas of the ops met in real models (upsampling, recurrent layers, grid sampling,
roi_align, einsum, embedding bags, nms), against closed forms written as arithmetic."""

from __future__ import annotations

import pytest

from convcost.core.registry import cost_of
from convcost.errors import InputError, ShapeError
from convcost.ops import Einsum, EmbeddingBag, GridSample, Nms, Recurrent, RoiAlign, Upsample


@pytest.mark.parametrize(
    ("mode", "x", "size", "per_output"),
    [("nearest", (2, 3, 8, 8), (16, 16), 1), ("nearest", (2, 3, 5), (9,), 1),
     ("nearest-exact", (1, 4, 2, 3, 3), (4, 6, 6), 1), ("linear", (2, 3, 8), (16,), 2),
     ("bilinear", (2, 3, 8, 8), (16, 12), 2 * 2), ("bicubic", (2, 3, 8, 8), (16, 16), 4 * 4),
     ("trilinear", (1, 2, 4, 4, 4), (8, 8, 8), 2 * 2 * 2)],
)
def test_upsample_reads_per_output_element(
    mode: str, x: tuple[int, ...], size: tuple[int, ...], per_output: int
) -> None:
    c = cost_of(Upsample(mode, size=size), [x])
    out = (x[0], x[1], *size)
    assert c.output_shape == out
    n = 1
    for s in out:
        n *= s
    assert (c.macs, c.params, c.other_ops) == (0, 0, n * per_output)


def test_upsample_scale_is_floored_like_torch() -> None:
    c = cost_of(Upsample("bilinear", align_corners=True, scale=(1.5,)), [(1, 2, 7, 7)])
    assert c.output_shape == (1, 2, 10, 10)  # floor(7 x 1.5)
    assert c.other_ops == 1 * 2 * 10 * 10 * 4


def test_antialiased_downsampling_widens_the_filter() -> None:
    # 8 -> 2 per dim: support = 1 x 8/2 = 4 input pixels each side -> 2 x 4 + 1 = 9 taps
    c = cost_of(Upsample("bilinear", size=(2, 2), antialias=True), [(1, 1, 8, 8)])
    assert c.other_ops == 2 * 2 * 9 * 9
    plain = cost_of(Upsample("bilinear", size=(2, 2)), [(1, 1, 8, 8)])
    assert plain.other_ops == 2 * 2 * 4


def test_upsample_refuses_what_torch_refuses() -> None:
    with pytest.raises(InputError):
        Upsample("cubic", size=(2, 2))
    with pytest.raises(InputError):
        Upsample("nearest")
    with pytest.raises(ShapeError):
        cost_of(Upsample("bilinear", size=(4,)), [(1, 2, 8)])
    with pytest.raises(ShapeError):
        cost_of(Upsample("nearest", size=(4, 4)), [(1, 2, 8)])


@pytest.mark.parametrize(
    ("cell", "gates", "work"), [("lstm", 4, 13), ("gru", 3, 10), ("rnn_tanh", 1, 2),
                                ("rnn_relu", 1, 2)],
)
@pytest.mark.parametrize("bias", [True, False])
def test_recurrent_layer(cell: str, gates: int, work: int, bias: bool) -> None:
    steps, batch, i, h = 5, 3, 10, 20
    c = cost_of(Recurrent(cell, i, h, bias), [(steps, batch, i)])
    assert c.output_shape == (steps, batch, h)
    assert c.macs == steps * batch * gates * h * (i + h)
    assert c.weights == gates * h * i + gates * h * h
    assert c.bias == (2 * gates * h if bias else 0)
    assert c.params == c.weights + c.bias
    assert c.other_ops == steps * batch * (h * work + (2 * gates * h if bias else 0))


def test_projected_lstm_and_a_cell_step() -> None:
    i, h, p = 10, 20, 5
    c = cost_of(Recurrent("lstm", i, h, proj_size=p), [(7, 2, i)])
    assert c.output_shape == (7, 2, p)
    assert c.macs == 7 * 2 * (4 * h * (i + p) + p * h)
    assert c.weights == 4 * h * i + 4 * h * p + p * h
    cell = cost_of(Recurrent("gru", i, h, sequence=False), [(3, i)])
    assert (cell.output_shape, cell.macs) == ((3, h), 3 * 3 * h * (i + h))
    with pytest.raises(InputError):
        Recurrent("gru", i, h, proj_size=p)
    with pytest.raises(ShapeError):
        cost_of(Recurrent("lstm", i, h), [(7, 2, i + 1)])


def test_grid_sample_and_roi_align() -> None:
    g = cost_of(GridSample("bilinear"), [(2, 3, 8, 8), (2, 4, 5, 2)])
    assert g.output_shape == (2, 3, 4, 5) and g.other_ops == 2 * 3 * 4 * 5 * 4
    g3 = cost_of(GridSample("bilinear"), [(1, 2, 4, 4, 4), (1, 3, 3, 3, 3)])
    assert g3.other_ops == 2 * 27 * 8
    assert cost_of(GridSample("nearest"), [(2, 3, 8, 8), (2, 4, 5, 2)]).other_ops == 120
    r = cost_of(RoiAlign((7, 7), 2), [(1, 256, 50, 50), (10, 5)])
    # per bin: 2 x 2 samples, each 4 reads and 1 op to average
    assert r.output_shape == (10, 256, 7, 7) and r.other_ops == 10 * 256 * 49 * 4 * 5


@pytest.mark.parametrize(
    ("equation", "shapes", "out", "macs"),
    [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], (2, 3, 5), 2 * 3 * 4 * 5),
     ("i,j->ij", [(3,), (4,)], (3, 4), 3 * 4),
     ("ij,ij->", [(3, 4), (3, 4)], (), 3 * 4),
     ("...ij,...jk->...ik", [(2, 6, 3, 4), (2, 6, 4, 5)], (2, 6, 3, 5), 2 * 6 * 3 * 4 * 5),
     ("bhqd,bhkd->bhqk", [(2, 4, 7, 8), (2, 4, 9, 8)], (2, 4, 7, 9), 2 * 4 * 7 * 9 * 8),
     ("ij,jk", [(3, 4), (4, 5)], (3, 5), 3 * 4 * 5)],
)
def test_einsum_by_its_contraction(
    equation: str, shapes: list[tuple[int, ...]], out: tuple[int, ...], macs: int
) -> None:
    c = cost_of(Einsum(equation), shapes)
    assert (c.output_shape, c.macs) == (out, macs)


def test_einsum_of_one_operand_is_other_ops() -> None:
    c = cost_of(Einsum("ii->i"), [(5, 5)])
    assert (c.output_shape, c.macs, c.other_ops) == ((5,), 0, 5)


def test_embedding_bag_and_nms() -> None:
    c = cost_of(EmbeddingBag(100, 8, "mean"), [(12,), (4,)])
    assert c.output_shape == (4, 8)
    assert c.weights == 100 * 8
    assert c.other_ops == 12 * 8 + 4 * 8  # gather-sum, then one division per output
    s = cost_of(EmbeddingBag(100, 8, "sum", per_sample_weights=True), [(4, 3), (4,)])
    assert s.other_ops == 2 * 12 * 8
    assert cost_of(Nms(), [(10, 4)]).other_ops == 10 * 9 // 2


def test_labels_geometry_and_torch_layers() -> None:
    torch = pytest.importorskip("torch")
    from convcost.build.registry import layer_for

    up = Upsample("bilinear", size=(16, 16))
    lstm = Recurrent("lstm", 8, 16)
    assert (up.label(), up.geometry()) == ("up bilinear", "16×16")
    assert (lstm.label(), lstm.geometry()) == ("lstm", "8→16")
    assert Recurrent("rnn_relu", 8, 16, sequence=False).label() == "rnn cell"
    assert Einsum("ij,jk->ik").geometry() == "ij,jk->ik"
    x = torch.zeros(1, 3, 8, 8)
    assert tuple(layer_for(up)(x).shape) == cost_of(up, [(1, 3, 8, 8)]).output_shape
    seq = torch.zeros(5, 2, 8)
    assert tuple(layer_for(lstm)(seq).shape) == cost_of(lstm, [(5, 2, 8)]).output_shape
    cell = Recurrent("gru", 8, 16, sequence=False)
    assert tuple(layer_for(cell)(torch.zeros(2, 8)).shape) == (2, 16)
