"""Deformable convolution (convcost/ops/deform_conv.py): the formula against closed forms and
against the convolution of the same geometry; torchvision's DeformConv2d (DCN, DCNv2, and a
conv predicting the offsets as detectors do) walked on the cpu, the meta device and for real;
random geometries against torch's own output shapes; a hand-built ONNX DeformConv against the
torch record and onnxruntime's output; the CLI."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.core.graph import sources_of
from convcost.core.ops import Conv
from convcost.core.registry import cost_of
from convcost.errors import InputError, ShapeError
from convcost.ops import DeformConv
from tests.fuzz_settings import fuzz

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Geo:
    """One geometry and the output size worked out by hand:
    out = (size + pad_before + pad_after - dilation·(k - 1) - 1) // stride + 1."""

    x: tuple[int, int, int, int]
    cout: int
    k: tuple[int, int]
    s: tuple[int, int]
    p: tuple[int, int]
    d: tuple[int, int]
    g: int
    og: int
    bias: bool
    mask: bool
    out_hw: tuple[int, int]

    def op(self) -> DeformConv:
        return DeformConv.make(self.x[1], self.cout, self.k, stride=self.s, padding=self.p,
                               dilation=self.d, groups=self.g, offset_groups=self.og,
                               bias=self.bias, mask=self.mask)

    def conv(self) -> Conv:
        return Conv.make(self.x[1], self.cout, self.k, stride=self.s, padding=self.p,
                         dilation=self.d, groups=self.g, bias=self.bias)

    def inputs(self) -> list[tuple[int, ...]]:
        n, taps = self.x[0], self.og * self.k[0] * self.k[1]
        shapes: list[tuple[int, ...]] = [self.x, (n, 2 * taps, *self.out_hw)]
        return [*shapes, (n, taps, *self.out_hw)] if self.mask else shapes


GEOMETRIES = [
    # (8 + 2 - 2 - 1) // 1 + 1 = 8
    Geo((1, 4, 8, 8), 8, (3, 3), (1, 1), (1, 1), (1, 1), 1, 1, False, False, (8, 8)),
    # H: (9 + 2 - 1·2 - 1) // 2 + 1 = 5; W: (11 + 0 - 2·1 - 1) // 1 + 1 = 9
    Geo((2, 6, 9, 11), 4, (3, 2), (2, 1), (1, 0), (1, 2), 2, 3, True, True, (5, 9)),
    # (7 + 0 - 2·2 - 1) // 2 + 1 = 2: depthwise-grouped, 4 offset groups
    Geo((1, 8, 7, 7), 8, (3, 3), (2, 2), (0, 0), (2, 2), 8, 4, True, False, (2, 2)),
    # a 1×1 kernel padded by 2: H 5 + 4 = 9, W 6 + 4 = 10
    Geo((3, 3, 5, 6), 5, (1, 1), (1, 1), (2, 2), (1, 1), 1, 1, False, True, (9, 10)),
]
IDS = ["dcn-3x3", "dcnv2-strided-dilated-grouped", "depthwise-og4", "dcnv2-1x1-padded"]


def closed_form(g: Geo) -> tuple[int, int, int, int]:
    """(MACs, weights, bias, other ops), written out."""
    n, cin = g.x[0], g.x[1]
    positions = n * g.out_hw[0] * g.out_hw[1]
    taps = g.k[0] * g.k[1]
    macs = positions * g.cout * (cin // g.g) * taps
    weights = g.cout * (cin // g.g) * taps
    bias = g.cout if g.bias else 0
    reads = 4 + (1 if g.mask else 0)  # 4 bilinear reads per sample, 1 mask multiply
    other = positions * taps * cin * reads + (positions * g.cout if g.bias else 0)
    return macs, weights, bias, other


# ---------------------------------------------------------------- formula


@pytest.mark.parametrize("g", GEOMETRIES, ids=IDS)
def test_formula_is_the_closed_form_and_the_convolutions_macs(g: Geo) -> None:
    c = cost_of(g.op(), g.inputs())
    assert c.output_shape == (g.x[0], g.cout, *g.out_hw)
    assert (c.macs, c.weights, c.bias, c.other_ops) == closed_form(g)
    conv = cost_of(g.conv(), [g.x])
    assert (c.macs, c.weights, c.bias, c.output_shape) == \
        (conv.macs, conv.weights, conv.bias, conv.output_shape)
    # the sampling is the extra work: 4 reads (+ the mask) per sample beyond the conv's bias
    assert c.other_ops - conv.other_ops == \
        g.x[0] * g.out_hw[0] * g.out_hw[1] * g.k[0] * g.k[1] * g.x[1] * (4 + g.mask)


def test_offset_and_mask_shapes_are_checked() -> None:
    g = GEOMETRIES[1]  # offset (2, 36, 5, 9), mask (2, 18, 5, 9)
    op, (x, offset, mask) = g.op(), g.inputs()
    for bad, needle in [
        ([x, (2, 35, 5, 9), mask], "offset of shape [2, 36, 5, 9]"),
        ([x, (2, 36, 5, 8), mask], "offset of shape [2, 36, 5, 9]"),
        ([x, (1, 36, 5, 9), mask], "offset of shape [2, 36, 5, 9]"),
        ([x, offset, (2, 36, 5, 9)], "mask of shape [2, 18, 5, 9]"),
        ([x, offset], "an input, an offset and a mask (3 shapes), got 2"),
        ([(2, 5, 9, 11), offset, mask], "expects 6 input channels, got 5"),
        ([(2, 6, 9), offset, mask], "expects a 4-D input"),
    ]:
        with pytest.raises(ShapeError, match=re.escape(needle)):
            cost_of(op, bad)
    with pytest.raises(ShapeError, match="an input, an offset \\(2 shapes\\), got 3"):
        cost_of(GEOMETRIES[0].op(), [*GEOMETRIES[0].inputs(), (1, 9, 8, 8)])


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"groups": 3}, "groups=3 must divide"), ({"offset_groups": 3}, "offset_groups=3"),
     ({"kernel": (3, 3, 3)}, "kernel needs 2 value"), ({"stride": 0}, "stride must be >= 1"),
     ({"padding": -1}, "padding must be >= 0")],
)
def test_bad_geometry_is_refused(kwargs: dict[str, Any], needle: str) -> None:
    args: dict[str, Any] = {"in_channels": 4, "out_channels": 8, "kernel": 3, **kwargs}
    with pytest.raises(InputError, match=needle):
        DeformConv.make(**args)


def test_label_geometry_and_breakdown_row() -> None:
    op = GEOMETRIES[1].op()
    assert (op.kind, op.label(), op.geometry(), op.group()) == \
        ("deform_conv", "deform 3×2", "3×2 s2×1 d1×2 g2 og3 mask", "Conv deform 3×2")
    plain = GEOMETRIES[0].op()
    assert (plain.label(), plain.geometry(), plain.group()) == \
        ("deform 3×3", "3×3", "Conv deform 3×3")


# ---------------------------------------------------------------- torch

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from torch import nn  # noqa: E402
from torchvision.ops import DeformConv2d  # noqa: E402

from convcost.frontends.torch_api import analyze_model  # noqa: E402
from tests.models.deform import DeformBlock, DeformNet  # noqa: E402


class Deform(nn.Module):
    """DeformConv2d with the offset (and mask) as inputs of the model."""

    def __init__(self, g: Geo) -> None:
        super().__init__()
        self.dcn = DeformConv2d(g.x[1], g.cout, g.k, stride=g.s, padding=g.p, dilation=g.d,
                                groups=g.g, bias=g.bias)

    def forward(self, x: Any, offset: Any, mask: Any = None) -> Any:
        return self.dcn(x, offset, mask)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _rows(a: Any) -> list[tuple[Any, ...]]:
    return [(r.record.path, r.record.op, r.record.inputs, r.cost) for r in a.rows]


@pytest.mark.parametrize("g", GEOMETRIES, ids=IDS)
def test_torchvision_deform_conv_is_one_record_of_the_closed_form(g: Geo) -> None:
    model = Deform(g)
    a = analyze_model(model, g.inputs())
    assert not a.uncounted and not a.lower_bound
    assert [(r.record.path, r.record.op, r.record.inputs) for r in a.rows] == \
        [(("dcn",), g.op(), tuple(g.inputs()))]
    macs, weights, bias, other = closed_form(g)
    assert (a.totals.macs, a.totals.weights, a.totals.bias, a.totals.other_ops) == \
        (macs, weights, bias, other)
    assert a.totals.params == _params(model)
    # torch itself says the output shape the hand-worked sizes give
    with torch.no_grad():
        out = model(*(torch.rand(s) for s in g.inputs()))
    assert tuple(out.shape) == a.rows[0].cost.output_shape == (g.x[0], g.cout, *g.out_hw)


@pytest.mark.parametrize("g", GEOMETRIES, ids=IDS)
def test_ptflops_counts_the_same_convolution_plus_its_sampling_estimate(g: Geo) -> None:
    """An independent count: ptflops' hook for DeformConv2d is the convolution's
    K·C_in·C_out/groups per output position, plus its own estimate of 24 ops per position and
    tap for the sampling (25 with a mask), plus the bias adds: ours is its convolution term."""
    ptflops = pytest.importorskip("ptflops")
    model = Deform(g)
    names = ["x", "offset", "mask"][: len(g.inputs())]

    def inputs(_: tuple[int, ...]) -> dict[str, Any]:
        return {k: torch.rand(s) for k, s in zip(names, g.inputs(), strict=True)}

    # inputs by keyword: ptflops counts one batch (the whole of ours) and says so on stdout
    theirs, _ = ptflops.get_model_complexity_info(
        model, (1,), input_constructor=inputs, as_strings=False, print_per_layer_stat=False,
        backend="pytorch")
    c = cost_of(g.op(), g.inputs())
    positions, taps = g.x[0] * g.out_hw[0] * g.out_hw[1], g.k[0] * g.k[1]
    bias_adds = positions * g.cout if g.bias else 0
    assert theirs == c.macs + positions * taps * (24 + g.mask) + bias_adds


@pytest.mark.parametrize("mask", [False, True], ids=["dcn", "dcnv2"])
def test_a_conv_predicting_the_offsets_then_the_deform_conv(mask: bool) -> None:
    """A detector's block: a 3×3 conv (2 offset groups) predicts the offsets (and the mask
    through a sigmoid); the MACs are the two convolutions' closed forms."""
    model = DeformBlock(8, 16, stride=2, offset_groups=2, mask=mask)
    a = analyze_model(model, (2, 8, 12, 10))
    assert not a.uncounted and not a.lower_bound
    n, ho, wo, taps = 2, 6, 5, 2 * 9  # (12 + 2 - 3) // 2 + 1 = 6, (10 + 2 - 3) // 2 + 1 = 5
    offset_ch = (3 if mask else 2) * taps
    offset_macs = n * offset_ch * ho * wo * 8 * 9
    deform_macs = n * 16 * ho * wo * 8 * 9
    assert a.totals.macs == offset_macs + deform_macs
    assert a.totals.params == _params(model) == a.extra["params_unique"]
    assert a.extra["params_uncovered"] == []
    kinds = [r.record.op.label() for r in a.rows]
    assert kinds == (["conv 3×3", "sigmoid", "deform 3×3"] if mask else
                     ["conv 3×3", "deform 3×3"])
    deform = a.rows[-1]
    inputs = [(n, 8, 12, 10), (n, 2 * taps, ho, wo)] + ([(n, taps, ho, wo)] if mask else [])
    assert deform.record.inputs == tuple(inputs)
    assert deform.cost.other_ops == n * ho * wo * 9 * 8 * (4 + mask) + n * 16 * ho * wo


@pytest.mark.parametrize("execution", ["meta", "fake", "real"])
def test_the_same_records_on_the_meta_device_fake_tensors_and_a_real_run(
        execution: str) -> None:
    """torchvision registers a meta kernel for deform_conv2d: a model built on the meta
    device is walked there; the cpu model on fake tensors; and for real on the cpu."""
    torch.manual_seed(0)
    model = DeformNet()
    expected = _rows(analyze_model(model, (1, 3, 32, 32)))
    if execution == "meta":
        model = model.to("meta")
    a = analyze_model(model, (1, 3, 32, 32), execution=execution)
    assert a.extra["execution"] == execution
    assert not a.uncounted and not a.lower_bound
    assert _rows(a) == expected
    assert a.totals.params == _params(model)


def test_a_deform_conv_without_bias_counts_none() -> None:
    """torchvision passes a fresh zero bias to its kernel when the module has none: no bias
    parameter and no bias adds are counted for it."""
    g = GEOMETRIES[0]
    a = analyze_model(Deform(g), g.inputs())
    assert a.rows[0].record.op == g.op() and not g.op().bias
    assert (a.totals.bias, a.totals.params) == (0, g.cout * g.x[1] * 9)


@given(data=st.data())
@fuzz(30)
def test_random_geometries_match_the_formula_torch_and_the_conv(data: st.DataObject) -> None:
    groups = data.draw(st.sampled_from([1, 2]), "groups")
    og = data.draw(st.sampled_from([1, 2]), "offset groups")
    cin = 2 * data.draw(st.integers(1, 3), "cin / 2")
    cout = groups * data.draw(st.integers(1, 3), "cout / groups")
    k = (data.draw(st.integers(1, 3), "kh"), data.draw(st.integers(1, 3), "kw"))
    s = (data.draw(st.integers(1, 2), "sh"), data.draw(st.integers(1, 2), "sw"))
    p = (data.draw(st.integers(0, 2), "ph"), data.draw(st.integers(0, 2), "pw"))
    d = (data.draw(st.integers(1, 2), "dh"), data.draw(st.integers(1, 2), "dw"))
    hw = tuple(data.draw(st.integers(max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]), 9), f"size{i}")
               for i in range(2))
    n = data.draw(st.integers(1, 2), "batch")
    bias, mask = data.draw(st.booleans(), "bias"), data.draw(st.booleans(), "mask")
    out_hw = tuple((hw[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
    g = Geo((n, cin, hw[0], hw[1]), cout, k, s, p, d, groups, og, bias, mask,
            (out_hw[0], out_hw[1]))
    model = Deform(g).to("meta")
    a = analyze_model(model, g.inputs())
    assert a.extra["execution"] == "meta"
    assert not a.uncounted
    [row] = a.rows
    assert row.record.op == g.op()
    assert row.cost == cost_of(g.op(), g.inputs())
    assert (row.cost.macs, row.cost.weights, row.cost.bias, row.cost.other_ops) == \
        closed_form(g)
    assert row.cost.macs == cost_of(g.conv(), [g.x]).macs
    assert a.totals.params == _params(model)
    meta_out = model(*(torch.empty(s, device="meta") for s in g.inputs()))
    assert tuple(meta_out.shape) == row.cost.output_shape


def test_the_built_module_runs_exactly_the_op() -> None:
    """The builder's module takes the input alone (zero offsets, a unit mask, made from its
    shape) and its walk is the op: one record, the same cost."""
    from convcost.build.registry import layer_for

    for g in GEOMETRIES:
        module = layer_for(g.op())
        a = analyze_model(module, g.x)
        assert not a.uncounted
        assert [(r.record.op, r.cost) for r in a.rows] == \
            [(g.op(), cost_of(g.op(), g.inputs()))]
        assert a.totals.params == _params(module)
        with torch.no_grad():
            assert tuple(module(torch.rand(g.x)).shape) == (g.x[0], g.cout, *g.out_hw)
    lopsided = DeformConv(4, 4, (3, 3), padding=((1, 0), (1, 1)))
    with pytest.raises(TypeError, match="pads both sides alike"):
        layer_for(lopsided)


# ---------------------------------------------------------------- ONNX

onnx = pytest.importorskip("onnx")

import numpy as np  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from convcost.frontends.onnx_api import analyze_onnx_file  # noqa: E402

F = TensorProto.FLOAT


def _init(name: str, values: Any) -> Any:
    return numpy_helper.from_array(values.detach().numpy().astype(np.float32), name)


def _save(path: Path, nodes: list[Any], inputs: dict[str, tuple[int, ...]],
          inits: list[Any], out: str = "y") -> str:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(k, F, list(v)) for k, v in inputs.items()],
        [helper.make_tensor_value_info(out, F, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)],
                              ir_version=9)
    onnx.save(model, str(path))
    return str(path)


def _deform_node(g: Geo, inputs: list[str], pads: list[int] | None = None) -> Any:
    return helper.make_node(
        "DeformConv", inputs, ["y"], name="dcn", kernel_shape=list(g.k), strides=list(g.s),
        dilations=list(g.d), pads=pads or [g.p[0], g.p[1], g.p[0], g.p[1]], group=g.g,
        offset_group=g.og)


def _same_records(onnx_side: Any, torch_side: Any) -> None:
    assert [(r.record.op, r.cost) for r in onnx_side.rows] == \
        [(r.record.op, r.cost) for r in torch_side.rows]
    assert onnx_side.totals == torch_side.totals


@pytest.mark.parametrize("g", GEOMETRIES, ids=IDS)
def test_onnx_deform_conv_is_the_torch_record(g: Geo, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")

    model = Deform(g)
    names = ["x", "offset"] + (["mask"] if g.mask else [])
    ins = ["x", "W", "offset", "B" if g.bias else ""] + (["mask"] if g.mask else [])
    inits = [_init("W", model.dcn.weight)] + ([_init("B", model.dcn.bias)] if g.bias else [])
    path = _save(tmp_path / "d.onnx", [_deform_node(g, ins)],
                 dict(zip(names, g.inputs(), strict=True)), inits)
    ours, theirs = analyze_onnx_file(path)[0], analyze_model(model, g.inputs())
    assert not ours.uncounted and not ours.lower_bound
    _same_records(ours, theirs)
    assert ours.totals.params == _params(model)
    feed = {n: np.random.default_rng(0).random(s, np.float32)
            for n, s in zip(names, g.inputs(), strict=True)}
    [y] = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feed)
    assert y.shape == ours.rows[0].cost.output_shape


@pytest.mark.parametrize("mask", [False, True], ids=["dcn", "dcnv2"])
def test_onnx_detector_block_is_the_torch_block(mask: bool, tmp_path: Path) -> None:
    """Conv -> offsets (-> Slice, Sigmoid -> mask) -> DeformConv, as DeformBlock: the same
    records, and the deform conv's offset (and mask) linked to the layers that made them."""
    block = DeformBlock(8, 16, stride=2, offset_groups=2, mask=mask)
    g = Geo((2, 8, 12, 10), 16, (3, 3), (2, 2), (1, 1), (1, 1), 1, 2, True, mask, (6, 5))
    taps = 2 * 9
    nodes = [helper.make_node("Conv", ["x", "oW", "oB"], ["o"], name="offset", pads=[1] * 4,
                              strides=[2, 2], kernel_shape=[3, 3])]
    inits = [_init("oW", block.offset.weight), _init("oB", block.offset.bias),
             _init("W", block.deform.weight), _init("B", block.deform.bias)]
    ins = ["x", "W", "o", "B"]
    if mask:
        inits += [numpy_helper.from_array(np.asarray(v, np.int64), k) for k, v in
                  {"zero": [0], "two_t": [2 * taps], "end": [3 * taps], "one": [1]}.items()]
        nodes += [helper.make_node("Slice", ["o", "zero", "two_t", "one"], ["off"]),
                  helper.make_node("Slice", ["o", "two_t", "end", "one"], ["m0"]),
                  helper.make_node("Sigmoid", ["m0"], ["m"], name="sigmoid")]
        ins = ["x", "W", "off", "B", "m"]
    nodes.append(_deform_node(g, ins))
    path = _save(tmp_path / "block.onnx", nodes, {"x": g.x}, inits)
    ours, theirs = analyze_onnx_file(path)[0], analyze_model(block, g.x)
    assert not ours.uncounted and not ours.lower_bound
    _same_records(ours, theirs)
    assert ours.totals.params == _params(block)
    # data flow: the deform conv reads the input, the offset conv's output (and the sigmoid)
    deform = ours.rows[-1].record
    assert deform.sources == ((-1, 0, 1) if mask else (-1, 0))
    if not mask:  # the torch walk infers its flow from shapes: a slice of the offset conv's
        # output (DCNv2's offset) has no record of its shape there
        records = [r.record for r in theirs.rows]
        assert tuple(sources_of(records, [r.cost for r in theirs.rows])[-1]) == deform.sources


def test_onnx_deform_conv_pads_may_differ_per_side(tmp_path: Path) -> None:
    g = Geo((1, 4, 8, 8), 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, 1, False, False, (7, 8))
    # H: (8 + 0 + 1 - 2 - 1) // 1 + 1 = 7; W: (8 + 1 + 1 - 3) + 1 = 8
    w = torch.rand(4, 4, 3, 3)
    path = _save(tmp_path / "p.onnx", [_deform_node(g, ["x", "W", "offset"], [0, 1, 1, 1])],
                 {"x": g.x, "offset": (1, 18, 7, 8)}, [_init("W", w)])
    a = analyze_onnx_file(path)[0]
    [row] = a.rows
    assert row.record.op == DeformConv(4, 4, (3, 3), padding=((0, 1), (1, 1)))
    assert row.cost.output_shape == (1, 4, 7, 8)
    assert row.cost.macs == 1 * 4 * 7 * 8 * 4 * 9


def test_onnx_deform_conv_of_another_rank_is_listed_not_guessed(tmp_path: Path) -> None:
    w = torch.rand(4, 4, 3)
    node = helper.make_node("DeformConv", ["x", "W", "offset"], ["y"], kernel_shape=[3])
    path = _save(tmp_path / "d1.onnx", [node], {"x": (1, 4, 8), "offset": (1, 6, 6)},
                 [_init("W", w)])
    a = analyze_onnx_file(path)[0]
    assert a.lower_bound and [u.op for u in a.uncounted] == ["DeformConv"]


# ---------------------------------------------------------------- CLI

DEFORM_NET = f"{ROOT / 'tests' / 'models' / 'deform.py'}:DeformNet"


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_cli_counts_a_deformable_net_whole() -> None:
    code, out, err = _cli("analyze", DEFORM_NET, "--input", "1,3,32,32", "--no-reference",
                          "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["lower_bound"] is False and data["uncounted"] == []
    model = DeformNet()
    # stem 3->16 at 32²; dcn2: offsets 16->54 and deform 16->32 at 16²; dcn1: offsets 32->18
    # and deform 32->32 (groups 2) at 16²; fc 32->10
    macs = (32 * 32 * 16 * 3 * 9 + 16 * 16 * 54 * 16 * 9 + 16 * 16 * 32 * 16 * 9
            + 16 * 16 * 18 * 32 * 9 + 16 * 16 * 32 * 16 * 9 + 32 * 10)
    assert data["totals"]["macs"] == macs == 6_119_744
    assert data["totals"]["params"] == _params(model)
    rows = {b["group"]: b["macs"] for b in data["breakdown"]}
    assert rows["Conv deform 3×3"] == 2 * 16 * 16 * 32 * 16 * 9
    code, out, err = _cli("analyze", DEFORM_NET, "--input", "1,3,32,32")
    assert code == 0, err
    assert "≥" not in out and "Lower bound" not in out
    assert "deform 3×3 s2 og2 mask" in out and "deform 3×3 g2" in out
