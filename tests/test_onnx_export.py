"""Models exported with torch's exporter, read back by the ONNX front-end: the same records as the
torch front-end gives on the same model, and torchvision's published totals.

Every model is exported once per session (TorchScript exporter, opset 17). Batch-norms are kept
with ``training=TrainingMode.PRESERVE`` (the default export folds them into the convolutions,
which must leave every convolution's MACs unchanged). Weights are random, and every parameter
and buffer is drawn at random before export, except for one model exported as built: the
TorchScript exporter stores parameters of equal values (torchvision's zero-initialised biases,
unit batch-norm scales) as one initializer and Identity aliases, which the front-end must read
back as the separate parameters they are.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

from torch import nn  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from convcost.cli.app import app  # noqa: E402
from convcost.core.analysis import Analysis  # noqa: E402
from convcost.core.ops import Conv  # noqa: E402
from convcost.frontends.onnx_api import analyze_onnx_file  # noqa: E402
from convcost.frontends.torch_api import analyze_model  # noqa: E402
from tests.models.mobilenet_v1 import mobilenet_v1  # noqa: E402

OPSET = 17
SHAPE = (1, 3, 224, 224)


class SmallLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.fc = nn.Linear(32, 4)

    def forward(self, x: Any) -> Any:
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], str | None]] = {
    "mobilenet_v1": (mobilenet_v1, SHAPE, None),
    "mobilenet_v3_large": (torchvision.models.mobilenet_v3_large, SHAPE,
                           "MobileNet_V3_Large_Weights"),
    "resnet18": (torchvision.models.resnet18, SHAPE, "ResNet18_Weights"),
    "efficientnet_b0": (torchvision.models.efficientnet_b0, SHAPE, "EfficientNet_B0_Weights"),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, SHAPE, "MobileNet_V2_Weights"),
    "shufflenet_v2_x1_0": (torchvision.models.shufflenet_v2_x1_0, SHAPE,
                           "ShuffleNet_V2_X1_0_Weights"),
    "lstm": (SmallLSTM, (1, 10, 16), None),
}


def randomised(model: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
    return model.eval()


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[str, Any]]:
    """name, folded, as_built -> (path of the ONNX file, the torch model it came from); once
    each."""
    cache: dict[tuple[str, bool, bool], tuple[str, Any]] = {}
    base = tmp_path_factory.mktemp("onnx")

    def get(name: str, folded: bool = False, as_built: bool = False) -> tuple[str, Any]:
        key = (name, folded, as_built)
        if key not in cache:
            factory, shape, _ = MODELS[name]
            model = factory().eval() if as_built else randomised(factory())
            path = base / f"{name}_{int(folded)}{int(as_built)}.onnx"
            mode = torch.onnx.TrainingMode.EVAL if folded else torch.onnx.TrainingMode.PRESERVE
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (torch.zeros(shape),), str(path), opset_version=OPSET,
                                  dynamo=False, training=mode, input_names=["input"])
            cache[key] = (str(path), model)
        return cache[key]

    return get


def both(exported: Any, name: str) -> tuple[Analysis, Analysis]:
    path, model = exported(name)
    theirs = analyze_model(model, [MODELS[name][1]])
    ours = analyze_onnx_file(path)[0]
    return ours, theirs


def per_layer(a: Analysis) -> list[tuple[str, tuple[Any, ...], int, int]]:
    return [(r.record.op.kind, r.record.inputs, r.cost.macs, r.cost.params) for r in a.rows]


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v3_large", "resnet18",
                                  "efficientnet_b0", "shufflenet_v2_x1_0", "lstm"])
def test_same_records_as_the_torch_front_end(exported: Any, name: str) -> None:
    ours, theirs = both(exported, name)
    assert per_layer(ours) == per_layer(theirs)
    assert [r.name for r in ours.rows] == [r.name for r in theirs.rows]
    assert ours.totals == theirs.totals
    assert ours.variants == theirs.variants
    assert not ours.lower_bound


@pytest.mark.parametrize("name", ["mobilenet_v3_large", "resnet18", "efficientnet_b0",
                                  "mobilenet_v2", "shufflenet_v2_x1_0"])
def test_totals_are_torchvision_published_numbers(exported: Any, name: str) -> None:
    path, _ = exported(name)
    ours = analyze_onnx_file(path)[0]
    weights = getattr(torchvision.models, str(MODELS[name][2]))
    meta = weights.DEFAULT.meta
    assert ours.totals.params == meta["num_params"]
    assert round(ours.totals.macs / 1e9, 3) == pytest.approx(meta["_ops"], abs=1e-3)


def test_mobilenet_v1_matches_the_paper(exported: Any) -> None:
    path, _ = exported("mobilenet_v1")
    ours = analyze_onnx_file(path)[0]
    assert ours.totals.macs == 568_740_352  # the paper's 569 M mult-adds
    assert ours.totals.weights == 4_209_088  # 4.2 M weights (Table 1)


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v3_large", "resnet18"])
def test_folded_export_keeps_every_conv_macs(exported: Any, name: str) -> None:
    kept = analyze_onnx_file(exported(name)[0])[0]
    folded = analyze_onnx_file(exported(name, True)[0])[0]

    def convs(a: Analysis) -> list[tuple[str, int, bool]]:
        return [(r.name, r.cost.macs, r.record.op.bias) for r in a.rows
                if isinstance(r.record.op, Conv)]

    k, f = convs(kept), convs(folded)
    assert [(n, m) for n, m, _ in k] == [(n, m) for n, m, _ in f]
    assert kept.totals.macs == folded.totals.macs
    assert not any(r.record.op.kind == "batch_norm" for r in folded.rows)
    # each batch-norm's scale and shift become the bias of the conv before it
    bn_channels = sum(r.record.op.num_features for r in kept.rows  # type: ignore[attr-defined]
                      if r.record.op.kind == "batch_norm")
    new_bias = sum(r.record.op.out_channels for r in folded.rows
                   if isinstance(r.record.op, Conv) and r.record.op.bias) - sum(
        r.record.op.out_channels for r in kept.rows
        if isinstance(r.record.op, Conv) and r.record.op.bias)
    assert new_bias == bn_channels
    assert folded.totals.params == kept.totals.params - 2 * bn_channels + bn_channels


def test_lstm_parameters_and_linear(exported: Any) -> None:
    ours, theirs = both(exported, "lstm")
    # 4 gates x hidden x (input + hidden) weights and two biases per layer, then the head
    lstm = 4 * 32 * (16 + 32) + 2 * 4 * 32 + 4 * 32 * (32 + 32) + 2 * 4 * 32
    assert ours.totals.params == theirs.totals.params == lstm + 32 * 4 + 4
    fc = [r for r in ours.rows if r.record.op.kind == "linear"]
    assert [(r.name, r.cost.macs) for r in fc] == [("fc", 32 * 4)]
    # one record per layer: 10 steps x 4 gates x hidden x (input + hidden)
    rnn = [(r.name, r.record.inputs, r.cost.macs) for r in ours.rows
           if r.record.op.kind == "recurrent"]
    assert rnn == [("lstm.l0", ((1, 10, 16),), 10 * 4 * 32 * (16 + 32)),
                   ("lstm.l1", ((1, 10, 32),), 10 * 4 * 32 * (32 + 32))]


def test_onnx_tool_reference_agrees_on_every_conv(exported: Any) -> None:
    pytest.importorskip("onnx_tool")
    path, _ = exported("mobilenet_v3_large")
    result = CliRunner().invoke(app, ["analyze", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(result.stdout)
    ref = doc["reference"]["onnx-tool"]
    assert ref["status"] == "explained" and ref["reason"].startswith("MACs agree")
    # onnx-tool adds one op per output element of a biased layer: the SE blocks' convs and fc
    assert "conv bias" in ref["by_operator"] and "linear bias" in ref["by_operator"]
    assert ref["by_operator"]["conv"] + ref["by_operator"]["linear"] == 216_589_760
    conv_rows = [x for x in doc["layers"] if x["kind"].split()[0] in ("conv", "dw", "pw")]
    assert len(conv_rows) == 62
    assert all(x["reference"]["onnx-tool"]["status"] == "agree" for x in conv_rows
               if not x["params"] > x["weights"])


def test_done_when_cli_output_matches_the_torch_source(exported: Any, monkeypatch: Any) -> None:
    path, _ = exported("mobilenet_v3_large")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    onnx_out = runner.invoke(app, ["analyze", path, "--no-reference"])
    torch_out = runner.invoke(app, ["analyze", "torchvision.models:mobilenet_v3_large",
                                    "--input", "1,3,224,224", "--no-reference"])
    assert onnx_out.exit_code == torch_out.exit_code == 0
    assert "216,589,760" in onnx_out.stdout and "5,483,032" in onnx_out.stdout
    # everything but the first line (the source's name) is the same
    assert onnx_out.stdout.splitlines()[1:] == torch_out.stdout.splitlines()[1:]


def test_budget_check_reads_onnx(exported: Any) -> None:
    path, _ = exported("mobilenet_v3_large")
    ok = CliRunner().invoke(app, ["check", path, "--max", "macs=220M"])
    assert ok.exit_code == 0, ok.output
    over = CliRunner().invoke(app, ["check", path, "--max", "macs=200M"])
    assert over.exit_code == 1, over.output


def test_python_api(exported: Any) -> None:
    import convcost

    path, _ = exported("resnet18")
    report = convcost.analyze(path)
    named = convcost.analyze(path, input_shapes={"input": (1, 3, 224, 224)})
    assert report.totals.macs == named.totals.macs == 1_814_073_344
    assert report.to_dict()["layers"][0]["name"] == "conv1"
    assert importlib.import_module("convcost.frontends.onnx_api")


def test_exported_model_analyses_without_torch(exported: Any) -> None:
    import subprocess
    import sys

    path, _ = exported("mobilenet_v3_large")
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from convcost.cli.app import app\n"
        f"r = CliRunner().invoke(app, ['analyze', {path!r}, '--no-reference', '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert '216589760' in r.stdout\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('torch', 'fvcore')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_without_onnx_tool_the_report_says_no_reference(exported: Any, monkeypatch: Any) -> None:
    import sys

    from convcost.reference.onnx_tool_count import NO_REFERENCE

    monkeypatch.setitem(sys.modules, "onnx_tool", None)  # import fails as if not installed
    path, _ = exported("resnet18")
    result = CliRunner().invoke(app, ["analyze", path, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == NO_REFERENCE


def test_torch_export_exporter_names_and_counts(exported: Any, tmp_path: Path) -> None:
    """The torch.export exporter (dynamo=True), unoptimised: name scopes from its metadata."""
    _, model = exported("mobilenet_v3_large")
    path = tmp_path / "dynamo.onnx"
    torch.onnx.export(model, (torch.zeros(SHAPE),), str(path), opset_version=18, dynamo=True,
                      optimize=False, verbose=False)
    ours = analyze_onnx_file(str(path))[0]
    theirs = analyze_model(model, [SHAPE])
    assert per_layer(ours) == per_layer(theirs)
    assert [r.name for r in ours.rows] == [r.name for r in theirs.rows]


def test_equal_parameters_stored_once_are_still_separate_parameters(exported: Any) -> None:
    """As built, mobilenet_v3_large has zero biases and unit batch-norm scales: the exporter
    stores them once, with Identity aliases named after each parameter."""
    import onnx

    path, model = exported("mobilenet_v3_large", as_built=True)
    aliases = [n for n in onnx.load(path).graph.node if n.op_type == "Identity"]
    assert len(aliases) > 100
    ours = analyze_onnx_file(path)[0]
    assert ours.totals.params == sum(p.numel() for p in model.parameters()) == 5_483_032
    assert ours.totals.macs == 216_589_760
    assert per_layer(ours) == per_layer(analyze_model(model, [SHAPE]))


def test_diff_of_kept_and_folded_exports(exported: Any) -> None:
    import json

    kept, _ = exported("mobilenet_v1")
    folded, _ = exported("mobilenet_v1", True)
    result = CliRunner().invoke(app, ["diff", kept, folded, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["totals"]["macs"]["a"] == doc["totals"]["macs"]["b"] == 568_740_352
    removed = [x for x in doc["layers"] if x["change"] == "removed"]
    assert len(removed) == 27 and {x["kind"] for x in removed} == {"bn"}
    assert all(x["macs"]["delta"] == 0 for x in doc["layers"])


def test_relu6_exported_as_clip(exported: Any) -> None:
    """MobileNetV2's ReLU6 is Clip(0, 6) in ONNX: one relu6 row, as in torch."""
    ours, theirs = both(exported, "mobilenet_v2")
    relu6 = [r.name for r in ours.rows if r.record.op.kind == "activation"
             and str(r.record.op.function) == "relu6"]  # type: ignore[attr-defined]
    assert len(relu6) == 35 and relu6[0] == "features.0.2"
    assert relu6 == [r.name for r in theirs.rows if r.record.op.kind == "activation"
                     and str(r.record.op.function) == "relu6"]  # type: ignore[attr-defined]


def test_budget_file_with_an_onnx_model(exported: Any, tmp_path: Path) -> None:
    import shutil

    path, _ = exported("resnet18")
    shutil.copy(path, tmp_path / "resnet18.onnx")
    budget = tmp_path / "budgets.yaml"
    budget.write_text("version: 1\nchecks:\n  - name: resnet\n    model: resnet18.onnx\n"
                      "    max: {macs: 1.9G, params: 12M}\n")
    ok = CliRunner().invoke(app, ["check", str(budget)])
    assert ok.exit_code == 0, ok.output
    budget.write_text("version: 1\nchecks:\n  - name: resnet\n    model: resnet18.onnx\n"
                      "    input: [1, 3, 224, 224]\n    max: {macs: 1.5G}\n")
    over = CliRunner().invoke(app, ["check", str(budget)])
    assert over.exit_code == 1, over.output
