"""The walker's classifier and handler registry: in-place views and unsafe splits are views,
reductions are reductions, a handler's own error surfaces, every matmul form is costed."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from convcost.core.ops import Reduce
from convcost.errors import AnalysisError
from convcost.frontends.torch import walk
from convcost.frontends.torch.classify import Verdict, classify
from convcost.frontends.torch.registry import RegistryError, handles
from convcost.frontends.torch_api import analyze_model


class InPlaceViews(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 4)

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x)  # (2, 4)
        y = y.clone()
        y.unsqueeze_(0)  # (1, 2, 4)
        y.squeeze_(0)  # (2, 4)
        y.t_()  # (4, 2)
        y.transpose_(0, 1)  # (2, 4)
        a, b = torch.ops.aten.unsafe_split(y, 2, 1)
        return a + b


@pytest.mark.parametrize("op", ["unsqueeze_", "squeeze_", "t_", "transpose_", "unsafe_split",
                                "unsafe_chunk", "randn", "reflection_pad2d"])
def test_classifier_never_leaves_views_uncounted(op: str) -> None:
    found = classify(getattr(torch.ops.aten, op))
    assert found.verdict is not Verdict.UNCOUNTED, op


def test_in_place_views_and_unsafe_split_are_not_uncounted() -> None:
    model = InPlaceViews()
    a = analyze_model(model, (2, 6))
    assert a.uncounted == () or not a.uncounted
    assert not a.lower_bound
    assert a.totals.macs == 2 * 6 * 4
    ignored = a.extra["ignored_ops"]
    assert isinstance(ignored, dict)
    for name in ("aten.unsqueeze", "aten.squeeze", "aten.t", "aten.transpose",
                 "aten.unsafe_split"):
        assert name in ignored, name


def test_recurrent_layers_are_not_a_lower_bound() -> None:
    for cls in (nn.GRU, nn.RNN):
        a = analyze_model(cls(8, 16, batch_first=True), (2, 5, 8))
        assert not a.uncounted, (cls.__name__, a.uncounted)
        assert a.totals.macs > 0


def test_a_reduction_row_is_labelled_as_a_reduction() -> None:
    class Means(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x.mean(-1) + x.sum(-1)

    rows = analyze_model(Means(), (2, 3, 4)).rows
    reductions = [r for r in rows if isinstance(r.record.op, Reduce)]
    assert [r.record.op.label() for r in reductions] == ["reduce mean", "reduce sum"]
    assert all(str(r.record.op.kind) == "reduce" for r in reductions)


def test_registering_an_op_twice_is_refused() -> None:
    with pytest.raises(RegistryError):
        handles("aten.convolution")(lambda *a: None)


def test_a_handler_error_raises_in_debug_and_names_the_op_for_users(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from convcost.frontends.torch import classify as classify_module

    def broken(*args: object) -> None:
        raise KeyError("mat")

    c = classify(torch.ops.aten.mv)
    monkeypatch.setitem(classify_module._CACHE, torch.ops.aten.mv,
                        type(c)(c.name, c.verdict, broken, c.passes_param, c.reshape))

    class MatVec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Identity()

        def forward(self, m: Tensor, v: Tensor) -> Tensor:
            return torch.mv(self.inner(m), v)

    monkeypatch.setenv("CONVCOST_DEBUG", "1")
    with pytest.raises(KeyError):
        walk(MatVec(), [(20, 10), (10,)])
    monkeypatch.setenv("CONVCOST_DEBUG", "0")
    with pytest.raises(AnalysisError, match=r"aten\.mv in module '\(root\)'"):
        walk(MatVec(), [(20, 10), (10,)])


@pytest.mark.parametrize(
    ("a", "b", "macs"),
    [((20, 10), (10,), 20 * 10), ((10,), (10, 7), 10 * 7), ((10,), (10,), 10),
     ((3, 20, 10), (10,), 3 * 20 * 10), ((4, 5), (5, 6), 4 * 5 * 6),
     ((2, 4, 5), (2, 5, 6), 2 * 4 * 5 * 6), ((2, 4, 5), (5, 6), 2 * 4 * 5 * 6)],
)
def test_every_matmul_form_is_costed(a: tuple[int, ...], b: tuple[int, ...], macs: int) -> None:
    class MatMul(nn.Module):
        def forward(self, x: Tensor, y: Tensor) -> Tensor:
            return torch.matmul(x, y)

    result = analyze_model(MatMul(), [a, b])
    assert result.totals.macs == macs
    assert not result.uncounted
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        MatMul()(torch.randn(a), torch.randn(b))
    # torch's counter has no formula for a matrix x vector product (aten.mv): it says 0
    assert counter.get_total_flops() in (2 * macs, 0)
    assert counter.get_total_flops() == 2 * macs or len(a) == 1 or len(b) == 1


@pytest.mark.parametrize(
    "source", ["torch.nn:LSTM", "torch.nn:GRU", "torch.nn:RNN"],
)
def test_strict_passes_on_fully_costed_recurrent_layers(source: str) -> None:
    from typer.testing import CliRunner

    from convcost.cli.app import app

    result = CliRunner().invoke(
        app, ["analyze", source, "--kwargs", '{"input_size": 8, "hidden_size": 16}',
              "--input", "5,2,8", "--no-reference", "--strict", "-f", "json"],
        env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    import json

    data = json.loads(result.stdout)
    assert data["lower_bound"] is False and data["totals"]["macs"] > 0


class Experts(nn.Module):
    """Four experts of 8 -> 16 in one grouped matmul, rows routed by offsets (as MoE layers
    call torch._grouped_mm)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 8, 16, dtype=torch.bfloat16))

    def forward(self, x: Tensor) -> Tensor:
        offs = torch.tensor([2, 5, 7, 10], dtype=torch.int32, device=x.device)
        return torch._grouped_mm(x, self.w, offs=offs)


def test_grouped_mm_costs_every_row_against_its_experts_matrix() -> None:
    a = analyze_model(Experts(), (10, 8), dtype="bfloat16", device="cpu")
    assert not a.uncounted
    assert a.totals.macs == 10 * 8 * 16  # each of the 10 rows meets one 8×16 matrix
    assert a.totals.params == 4 * 8 * 16


class Counting(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        hist = torch.histc(x, bins=8)
        values = torch.unique(x.round())
        return hist.sum() + values.sum()


def test_histogram_and_unique_read_every_element_once() -> None:
    a = analyze_model(Counting(), (3, 4), device="cpu")
    assert not a.uncounted, a.uncounted
    by_op = {r.record.op.function: r.cost.other_ops for r in a.rows
             if isinstance(r.record.op, Reduce)}
    assert by_op["histc"] == 12 and by_op["_unique2"] == 12
