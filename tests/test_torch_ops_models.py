"""The torch walk on the ops of real models — upsampling, recurrent layers, einsum, scans,
grid sampling, roi_align, nms, embedding bags and the ops that cost nothing — against
arithmetic, torch.utils.flop_counter, ptflops and thop."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from convcost.core.ops import Elementwise
from convcost.core.registry import cost_of
from convcost.frontends.torch import walk
from convcost.frontends.torch_api import analyze_model
from convcost.ops import Einsum, Recurrent, Upsample


def on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    with torch.device("meta"):
        return build()


def counter_macs(model: nn.Module, *shapes: tuple[int, ...], device: str = "cpu") -> int:
    xs = [torch.randn(s, device=device) for s in shapes]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(*xs)
    return int(counter.get_total_flops()) // 2


# ---------------------------------------------------------------- recurrent layers

RNNS: list[tuple[str, Callable[[], nn.Module], tuple[int, ...]]] = [
    ("lstm", lambda: nn.LSTM(12, 16, num_layers=2, batch_first=True), (3, 7, 12)),
    ("lstm_bidir", lambda: nn.LSTM(12, 16, bidirectional=True, bias=False), (7, 3, 12)),
    ("gru", lambda: nn.GRU(12, 16, num_layers=2, bidirectional=True), (7, 3, 12)),
    ("rnn", lambda: nn.RNN(12, 16, nonlinearity="relu"), (7, 3, 12)),
    ("lstm_unbatched", lambda: nn.LSTM(12, 16), (7, 12)),
]


@pytest.mark.parametrize(("name", "build", "shape"), RNNS, ids=[r[0] for r in RNNS])
def test_recurrent_layers_exact_on_every_path(
    name: str, build: Callable[[], nn.Module], shape: tuple[int, ...]
) -> None:
    model = build()
    cpu = analyze_model(model, shape)  # an LSTM runs aten.mkldnn_rnn_layer here
    meta = analyze_model(on_meta(build), shape)  # decomposed into matrix products
    real = analyze_model(model, shape, execution="real")
    decomposed = counter_macs(on_meta(build), shape, device="meta")
    assert cpu.totals.macs == meta.totals.macs == real.totals.macs == decomposed > 0
    assert not cpu.uncounted and not cpu.lower_bound
    assert cpu.totals.params == sum(p.numel() for p in model.parameters())
    assert all(isinstance(r.record.op, Recurrent) for r in cpu.rows)


def test_lstm_records_per_layer_and_direction() -> None:
    model = nn.Sequential(nn.LSTM(8, 16, num_layers=2, bidirectional=True))
    rows = analyze_model(model, (5, 2, 8)).rows
    assert [r.name for r in rows] == ["0.l0", "0.l0_reverse", "0.l1", "0.l1_reverse"]
    ops = [r.record.op for r in rows]
    assert [o.input_size for o in ops if isinstance(o, Recurrent)] == [8, 8, 32, 32]
    single = analyze_model(nn.Sequential(nn.GRU(8, 16)), (5, 2, 8)).rows
    assert [r.name for r in single] == ["0"]


def test_projected_lstm_params_exact() -> None:
    model = nn.LSTM(10, 20, num_layers=2, proj_size=5)
    a = analyze_model(model, (6, 2, 10))
    assert a.totals.params == sum(p.numel() for p in model.parameters())
    per_step = 4 * 20 * (10 + 5) + 5 * 20 + 4 * 20 * (5 + 5) + 5 * 20
    assert a.totals.macs == 6 * 2 * per_step == counter_macs(
        on_meta(lambda: nn.LSTM(10, 20, num_layers=2, proj_size=5)), (6, 2, 10), device="meta"
    )


class OwnLSTM(nn.LSTM):
    """A subclass with its own forward: the walk sees the kernels, not the module."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x)[0]


def test_lstm_kernel_without_its_module() -> None:
    model = OwnLSTM(12, 16, num_layers=2)
    kernel = analyze_model(model, (7, 3, 12))  # cpu: aten.mkldnn_rnn_layer handler
    expected = 7 * 3 * (4 * 16 * (12 + 16) + 4 * 16 * (16 + 16))
    assert kernel.totals.macs == expected
    assert not kernel.uncounted
    assert kernel.totals.params == sum(p.numel() for p in model.parameters())
    assert [r.name for r in kernel.rows] == ["l0", "l1"]


@pytest.mark.parametrize("cls", [nn.LSTMCell, nn.GRUCell, nn.RNNCell])
def test_cells(cls: type[nn.Module]) -> None:
    model = cls(12, 16)
    gates = {nn.LSTMCell: 4, nn.GRUCell: 3, nn.RNNCell: 1}[cls]
    a = analyze_model(model, (3, 12))
    assert a.totals.macs == 3 * gates * 16 * (12 + 16) == counter_macs(model, (3, 12))
    assert a.totals.params == sum(p.numel() for p in model.parameters())
    assert not a.uncounted


@pytest.mark.parametrize(("cls", "gates", "extra"),
                         [(nn.LSTM, 4, 10), (nn.GRU, 3, 7), (nn.RNN, 1, 1)])
def test_recurrent_against_ptflops(cls: type[nn.Module], gates: int, extra: int) -> None:
    """ptflops counts, per step and batch row, the MACs plus `extra` x hidden element-wise
    ops (its stated gate work) plus both biases."""
    ptflops = pytest.importorskip("ptflops")
    b, t, i, h = 2, 5, 6, 8
    model = cls(i, h, batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, _ = ptflops.get_model_complexity_info(
            model, (t, i), as_strings=False, print_per_layer_stat=False, backend="pytorch")
    ours = analyze_model(model, (1, t, i)).totals.macs
    assert ours == t * gates * h * (i + h)
    assert theirs == ours + t * (extra * h + 2 * gates * h)
    del b


@pytest.mark.parametrize(("cls", "gates", "extra"),
                         [(nn.LSTM, 4, 8), (nn.GRU, 3, 7), (nn.RNN, 1, 1)])
def test_recurrent_against_thop(cls: type[nn.Module], gates: int, extra: int) -> None:
    """thop counts, per step and batch row, the MACs plus `extra` x hidden element-wise ops
    plus both biases."""
    thop = pytest.importorskip("thop")
    b, t, i, h = 2, 5, 6, 8
    model = cls(i, h)
    theirs, _ = thop.profile(model, inputs=(torch.randn(t, b, i),), verbose=False)
    ours = analyze_model(model, (t, b, i)).totals.macs
    assert ours == t * b * gates * h * (i + h)
    assert int(theirs) == ours + t * b * (extra * h + 2 * gates * h)


# ---------------------------------------------------------------- upsampling


class Interpolate(nn.Module):
    def __init__(self, **options: object) -> None:
        super().__init__()
        self.options = options

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, **self.options)  # type: ignore[arg-type]


INTERPOLATIONS = [
    ({"mode": "nearest", "scale_factor": 2}, (1, 3, 6, 6), (12, 12), 1),
    ({"mode": "nearest-exact", "size": (5, 7)}, (1, 3, 6, 6), (5, 7), 1),
    ({"mode": "nearest", "scale_factor": 2}, (1, 3, 4), (8,), 1),
    ({"mode": "nearest", "scale_factor": 2}, (1, 3, 2, 2, 2), (4, 4, 4), 1),
    ({"mode": "linear", "scale_factor": 2}, (1, 3, 4), (8,), 2),
    ({"mode": "bilinear", "scale_factor": 2, "align_corners": True}, (1, 3, 6, 6), (12, 12), 4),
    ({"mode": "bilinear", "scale_factor": 2}, (1, 3, 6, 6), (12, 12), 4),
    ({"mode": "bicubic", "size": (9, 9)}, (1, 3, 6, 6), (9, 9), 16),
    ({"mode": "trilinear", "scale_factor": 2}, (1, 3, 2, 2, 2), (4, 4, 4), 8),
    ({"mode": "bilinear", "size": (12, 12), "antialias": True}, (1, 3, 6, 6), (12, 12), 4),
]


@pytest.mark.parametrize(("options", "shape", "size", "taps"), INTERPOLATIONS)
def test_interpolate_in_every_mode(
    options: dict[str, object], shape: tuple[int, ...], size: tuple[int, ...], taps: int
) -> None:
    model = Interpolate(**options)
    for result in (analyze_model(model, shape), analyze_model(model, shape, execution="real")):
        assert not result.uncounted and not result.lower_bound
        assert [type(r.record.op) for r in result.rows] == [Upsample]
        out = shape[0] * shape[1]
        for s in size:
            out *= s
        assert result.totals.other_ops == out * taps
        assert result.totals.macs == 0 == counter_macs(model, shape)


def test_nearest_upsampling_decomposed_leaves_no_index_arithmetic() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: Tensor) -> Tensor:
            return F.interpolate(self.conv(x), scale_factor=2, mode="nearest")

    program = torch.export.export(Net(), (torch.randn(1, 3, 8, 8),)).run_decompositions()
    result = walk(program.module(), [(1, 3, 8, 8)])
    assert not result.uncounted
    ups = [r for r in result.records if isinstance(r.op, Upsample)]
    assert len(ups) == 1 and isinstance(ups[0].op, Upsample) and ups[0].op.size == (12, 12)
    assert not [r for r in result.records if isinstance(r.op, Elementwise)]


# ---------------------------------------------------------------- einsum, products, scans


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("bhqd,bhkd->bhqk", [(2, 3, 5, 8), (2, 3, 7, 8)]),
     ("ij,jk", [(3, 4), (4, 5)]), ("bi,bi->b", [(6, 5), (6, 5)])],
)
def test_einsum_costed_by_its_contraction(equation: str, shapes: list[tuple[int, ...]]) -> None:
    """torch runs a two-operand einsum as one batched product: its MACs are the product of
    every index size, what the Einsum formula says."""

    class E(nn.Module):
        def forward(self, a: Tensor, b: Tensor) -> Tensor:
            return torch.einsum(equation, a, b)

    a = analyze_model(E(), shapes)
    expected = cost_of(Einsum(equation), shapes).macs
    assert a.totals.macs == expected == counter_macs(E(), *shapes)
    assert not a.uncounted


@pytest.mark.parametrize(
    ("fn", "shapes", "macs"),
    [(lambda s, a, b: torch.baddbmm(s, a, b), [(2, 3, 5), (2, 3, 4), (2, 4, 5)], 2 * 3 * 4 * 5),
     (lambda s, a, b: torch.addbmm(s, a, b), [(3, 5), (2, 3, 4), (2, 4, 5)], 2 * 3 * 4 * 5),
     (lambda s, a, b: torch.addmv(s, a, b), [(3,), (3, 4), (4,)], 3 * 4),
     (lambda s, a, b: torch.addr(s, a, b), [(3, 4), (3,), (4,)], 3 * 4)],
)
def test_added_products(fn: Callable[..., Tensor], shapes: list[tuple[int, ...]],
                        macs: int) -> None:
    class M(nn.Module):
        def forward(self, *xs: Tensor) -> Tensor:
            return fn(*xs)

    a = analyze_model(M(), shapes)
    assert a.totals.macs == macs and not a.uncounted


def test_scans_grid_sample_and_embedding_bag() -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bag = nn.EmbeddingBag(50, 8, mode="mean")

        def forward(self, x: Tensor, grid: Tensor, ids: Tensor) -> Tensor:
            y = F.grid_sample(x, grid, align_corners=False)
            return y.cumsum(-1).sum() + x.cumprod(1).sum() + self.bag(ids).sum()

    model = M()
    from convcost.frontends.torch_source import InputSpec

    specs = [InputSpec((1, 3, 8, 8)), InputSpec((1, 4, 5, 2)), InputSpec((2, 6), "int64")]
    a = analyze_model(model, specs)
    assert not a.uncounted, a.uncounted
    kinds = {str(r.record.op.kind) for r in a.rows}
    assert {"grid_sample", "embedding_bag"} <= kinds
    assert a.totals.params == 50 * 8
    grid = next(r for r in a.rows if str(r.record.op.kind) == "grid_sample")
    assert grid.cost.other_ops == 1 * 3 * 4 * 5 * 4


# ---------------------------------------------------------------- detector ops


def test_roi_align_and_nms() -> None:
    ops = pytest.importorskip("torchvision.ops")

    class Head(nn.Module):
        def forward(self, feats: Tensor, boxes: Tensor) -> Tensor:
            rois = torch.cat([torch.zeros(boxes.shape[0], 1), boxes.abs() * 4], dim=1)
            rois[:, 3:] += rois[:, 1:3]
            pooled = ops.roi_align(feats, rois, (7, 7), spatial_scale=0.5, sampling_ratio=2)
            keep = ops.nms(rois[:, 1:], rois[:, 0] + 1, 0.5)
            return pooled.sum() + keep.sum()

    a = analyze_model(Head(), [(1, 16, 20, 20), (10, 4)], execution="real")
    assert not a.uncounted, a.uncounted
    roi = next(r for r in a.rows if str(r.record.op.kind) == "roi_align")
    assert roi.cost.other_ops == 10 * 16 * 49 * 4 * 5
    nms = next(r for r in a.rows if str(r.record.op.kind) == "nms")
    assert nms.cost.other_ops == 10 * 9 // 2
    assert "torchvision.nms" in a.extra["data_dependent_ops"]  # type: ignore[operator]


# ---------------------------------------------------------------- ops that cost nothing


def test_no_false_lower_bound() -> None:
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.MaxPool2d(2, return_indices=True)
            self.unpool = nn.MaxUnpool2d(2)

        def forward(self, x: Tensor) -> Tensor:
            with torch.profiler.record_function("block"):
                y = F.pad(x, (1, 1, 1, 1), mode="reflect")
                y = F.pad(y, (1, 1, 1, 1), mode="replicate")
            pooled, idx = self.pool(y)
            noise = torch.randn_like(pooled)
            return self.unpool(pooled + noise, idx)

    for execution in ("auto", "real"):
        a = analyze_model(M(), (1, 2, 8, 8), execution=execution)
        assert not a.uncounted and not a.lower_bound, (execution, a.uncounted)


def test_selection_and_sorting_ops() -> None:
    class M(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            top = x.topk(3, dim=1).values.sum()
            order = x.sort(dim=1).values.sum() + x.argsort(dim=0).sum()
            return top + order + (x > 0).nonzero().sum()

    a = analyze_model(M(), (4, 8), execution="real")
    assert not a.uncounted and not a.lower_bound
    rows = {r.name: r.cost.other_ops for r in a.rows}
    assert rows["topk"] == rows["nonzero"] == 4 * 8  # one op per element read
    assert rows["sort"] == 4 * 8 * 3  # ceil(log2 8) comparisons per element
    assert rows["sort_2"] == 4 * 8 * 2  # argsort runs a sort along dim 0: ceil(log2 4)


def test_a_detector_counts_like_torch_on_one_real_run() -> None:
    detection = pytest.importorskip("torchvision.models.detection")
    torch.manual_seed(0)
    model = detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None).eval()

    class Batch(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.detector = model

        def forward(self, x: Tensor) -> object:
            return self.detector(list(x))

    a = analyze_model(Batch(), (1, 3, 320, 320), execution="real", name="frcnn")
    assert not a.uncounted and not a.lower_bound
    met = a.extra["data_dependent_ops"]
    assert isinstance(met, list) and {"aten.nonzero", "torchvision.nms"} <= set(met)
    x = torch.randn((1, 3, 320, 320), generator=torch.Generator().manual_seed(0))
    assert counter_macs_of(Batch(), x) == a.totals.macs
    assert a.totals.params == sum(p.numel() for p in model.parameters())


def counter_macs_of(model: nn.Module, *xs: Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(*xs)
    return int(counter.get_total_flops()) // 2
