"""Zoo sources, constructors that need real tensors, real runs, structured inputs and references
that fail — each held against torchvision's metadata, closed-form arithmetic or
torch.utils.flop_counter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from typer.testing import CliRunner

from convcost.api import analyze
from convcost.cli.app import app
from convcost.errors import AnalysisError, InputError
from convcost.frontends import torch_build
from convcost.frontends.torch_api import analyze_model
from convcost.frontends.torch_inputs import parse_call
from convcost.frontends.torch_source import InputSpec, load_source

ROOT = Path(__file__).resolve().parent.parent
DD = "tests.models.data_dependent"


@pytest.fixture(autouse=True)
def _importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- zoo sources


def test_torchvision_source_takes_the_crop_size_and_matches_published_metadata() -> None:
    import torchvision.models as tvm

    weights = tvm.get_model_weights("resnet18").DEFAULT
    code, out, err = run("analyze", "torchvision:resnet18", "--no-reference", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["input_shape"] == [1, 3, 224, 224]
    assert round(data["totals"]["macs"] / 1e9, 3) == weights.meta["_ops"]
    assert data["totals"]["params"] == weights.meta["num_params"]
    assert data["build"] == "meta" and data["execution"] == "meta"
    assert "crop size" in " ".join(data["notes"])
    # the module:factory form of the same model takes the same input
    code, out2, _ = run("analyze", "torchvision.models:resnet18", "--no-reference", "-f", "json")
    assert code == 0 and json.loads(out2)["totals"] == data["totals"]


def test_torchvision_kwargs_and_refusals() -> None:
    code, out, _ = run("analyze", "torchvision:resnet18", "--kwargs", '{"num_classes": 10}',
                       "--no-reference", "-f", "json")
    assert code == 0
    fc = next(x for x in json.loads(out)["layers"] if x["name"] == "fc")
    assert fc["macs"] == 512 * 10
    code, _, err = run("analyze", "torchvision:no_such_net")
    assert code == 2 and err.count("\n") == 1 and "list_models" in err
    code, _, err = run("analyze", "torchvision:resnet18", "--kwargs", '{"weights": "DEFAULT"}')
    assert code == 2 and "never downloads" in err


def test_timm_source_uses_pretrained_cfg_input_size() -> None:
    timm = pytest.importorskip("timm")
    report = analyze("timm:inception_v3")  # 299×299 in its pretrained_cfg
    assert report.analysis.input_shapes == ((1, 3, 299, 299),)
    with torch.device("meta"):
        model = timm.create_model("inception_v3", pretrained=False)
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_regnet_builds_with_parameters_on_meta() -> None:
    import torchvision.models as tvm

    with pytest.raises(Exception, match="meta"), torch.device("meta"):
        tvm.regnet_y_400mf()
    loaded = load_source("torchvision:regnet_y_400mf")
    assert loaded.built.build == "meta-parameters"
    assert all(t.device.type == "meta" for t in [*loaded.model.parameters(),
                                                   *loaded.model.buffers()])
    weights = tvm.get_model_weights("regnet_y_400mf").DEFAULT
    report = analyze("torchvision:regnet_y_400mf")
    assert round(report.totals.macs / 1e9, 3) == weights.meta["_ops"]
    assert report.totals.params == weights.meta["num_params"]
    assert not report.analysis.lower_bound
    assert any("constructor computes with real tensors" in n for n in report.notes)
    assert report.to_dict()["build"] == "meta-parameters"


def test_constructor_needing_real_tensors_from_a_file_source() -> None:
    loaded = load_source(f"{DD}:NeedsRealTensors")
    assert loaded.built.build == "meta-parameters"
    a = analyze_model(f"{DD}:NeedsRealTensors", (1, 3, 8, 8))
    assert a.totals.macs == 8 * 8 * 8 * 3 * 9 + 8 * 4


def test_refuses_a_real_build_that_would_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_build, "available_memory", lambda: 1 << 30)

    def factory() -> nn.Module:
        raise RuntimeError("needs real weights")  # never reached for the size check

    with pytest.raises(AnalysisError, match=r"4\.0 GiB would not fit in memory"):
        torch_build.check_fits("big", 1 << 32, "must run for real")
    with pytest.raises(AnalysisError, match="would not fit"):
        torch_build.build(factory, "big", "cpu", estimate_params=1 << 30)


# ---------------------------------------------------------------- real runs


def _flop_counter_macs(model: nn.Module, *inputs: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(*inputs)
    return counter.get_total_flops() // 2


def test_data_dependent_forward_runs_once_for_real() -> None:
    from convcost.frontends.torch.execution import Execution, make_inputs

    torch.manual_seed(1)
    model = __import__(DD, fromlist=["Gate"]).Gate().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a = analyze_model(model, (2, 50, 16))
    assert a.extra["execution"] == "real"
    ops: Any = a.extra["data_dependent_ops"]
    assert "aten.nonzero" in ops
    # the same seeded inputs, counted by torch's counter
    (x,) = make_inputs([InputSpec((2, 50, 16))], Execution.REAL, torch.device("cpu"), 0)
    assert a.totals.macs == _flop_counter_macs(model, x)
    kept = int((model.score(x).squeeze(-1) > 0).sum())
    assert a.totals.macs == 2 * 50 * 16 + kept * 16 * 32
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_no_execute_refuses_the_real_run_in_one_line() -> None:
    code, _, err = run("analyze", f"{DD}:Gate", "--input", "2,50,16", "--no-execute")
    assert code == 3
    assert err.startswith("convcost: error:") and err.count("\n") == 1
    assert "--no-execute" in err and "aten.nonzero" in err
    code, out, err = run("analyze", f"{DD}:Gate", "--input", "2,50,16", "-f", "json",
                         "--reference", "torch")
    assert code == 0, err
    data = json.loads(out)
    assert data["execution"] == "real" and "aten.nonzero" in data["data_dependent_ops"]
    assert data["reference"]["torch"]["total"] == data["totals"]["macs"]
    code, out, _ = run("analyze", f"{DD}:Gate", "--input", "2,50,16", "-f", "markdown",
                       "--no-reference")
    assert "one real run" in out


def test_detector_heads_scale_to_published_counts() -> None:
    import torchvision.models as tvm

    report = analyze("torchvision:fasterrcnn_mobilenet_v3_large_320_fpn", reference=["torch"])
    data = report.to_dict()
    assert data["execution"] == "real"
    assert data["reference"]["torch"]["total"] == data["totals"]["macs"]
    box = data["heads"]["box"]
    assert box["item"] == "proposal" and box["count"] * box["macs_per_item"] == box["macs"]
    published = tvm.get_model_weights("fasterrcnn_mobilenet_v3_large_320_fpn").DEFAULT
    at_zero = data["totals"]["macs"] - box["macs"]  # torchvision measured 0 proposals here
    assert round(at_zero / 1e9, 3) == published.meta["_ops"]


# ---------------------------------------------------------------- inputs


def test_parse_call_forms() -> None:
    call = parse_call(["1,5,10", "(1,1,20; 1,1,20)", "scale=0.5", "use_last=True",
                       "n=int:3", "mask=1,5:bool"])
    assert call.args == (InputSpec((1, 5, 10)), (InputSpec((1, 1, 20)), InputSpec((1, 1, 20))))
    assert call.kwargs == {"scale": 0.5, "use_last": True, "n": 3,
                           "mask": InputSpec((1, 5), "bool")}
    assert [s.shape for s in call.leaves()] == [(1, 5, 10), (1, 1, 20), (1, 1, 20), (1, 5)]
    assert parse_call(["1,3;2,3"]).args == (InputSpec((1, 3)), InputSpec((2, 3)))
    for bad in (["x=1,3", "1,3"], ["(1,3"], ["a=1;a=2"]):
        with pytest.raises(InputError):
            parse_call(bad)


def test_tuple_state_and_python_values_without_a_wrapper() -> None:
    code, out, err = run("analyze", f"{DD}:FromState", "--input", "1,5,10",
                         "--input", "(1,1,20; 1,1,20)", "--input", "scale=0.5",
                         "--input", "use_last=True", "--no-reference", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["macs"] == 5 * 4 * 20 * (10 + 20)  # LSTM: 4·H·(I+H) per step
    model = __import__(DD, fromlist=["FromState"]).FromState()
    report = analyze(model, input_shapes=[(1, 5, 10), ((1, 1, 20), (1, 1, 20))],
                     inputs={"scale": 0.5})
    assert report.totals.macs == data["totals"]["macs"]
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_keyword_tensors_by_name() -> None:
    code, out, err = run("analyze", f"{DD}:KeywordOnly", "--input", "input_ids=1,12:int64",
                         "--input", "mask=1,12", "--reference", "fvcore,torch", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["macs"] == 12 * 8 * 8
    assert data["reference"]["torch"]["total"] == 12 * 8 * 8


# ---------------------------------------------------------------- references that fail


def test_a_failing_reference_is_a_note_not_an_exit() -> None:
    code, out, err = run("analyze", f"{DD}:MmOut", "--input", "4,10", "-f", "json",
                         "--reference", "fvcore,torch")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["macs"] == 4 * 10 * 10
    assert "fvcore" not in data.get("reference", {})
    assert data["reference"]["torch"]["total"] == 400
    note = next(n for n in data["notes"] if n.startswith("fvcore"))
    assert "matmul_flop_jit does not handle this call" in note
    code, _, err = run("analyze", f"{DD}:MmOut", "--input", "4,10", "--strict")
    assert code == 3 and err.count("\n") == 1 and "fvcore" in err


def test_attention_a_reference_skips_is_explained() -> None:
    class Attn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(16, 48)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(x).view(1, 10, 3, 2, 8).permute(2, 0, 3, 1, 4)
            return nn.functional.scaled_dot_product_attention(q, k, v)

    report = analyze(Attn(), input_shape=(1, 10, 16), reference=["fvcore", "torch"])
    attention = 1 * 2 * 10 * 10 * (8 + 8)
    assert report.totals.macs == 10 * 16 * 48 + attention
    for tool in ("fvcore", "torch"):
        ag = report.reference[tool].total
        assert ag.theirs == 10 * 16 * 48
        assert str(ag.status) == "explained" and "attention" in ag.reason


# ---------------------------------------------------------------- Hugging Face


def test_hf_decoder_lm_from_config_with_references() -> None:
    pytest.importorskip("transformers")
    report = analyze("hf:gpt2", kwargs={"n_layer": 1, "n_embd": 64, "n_head": 4},
                     inputs={"input_ids": "1,16:int64"}, reference=["fvcore", "torch"])
    d, vocab, n = 64, 50257, 16
    block = n * d * 3 * d + n * d * d + 2 * n * d * 4 * d  # qkv, proj, mlp
    attention = 4 * n * n * (16 + 16)
    assert report.totals.macs == block + attention  # AutoModel: no language-model head
    assert report.to_dict()["inputs"] == "input_ids=1×16:int64"
    for tool in ("fvcore", "torch"):  # fvcore traces it: no cache in the output
        assert str(report.reference[tool].total.status) == "explained"
    del vocab


def test_hf_encoder_with_an_attention_mask() -> None:
    pytest.importorskip("transformers")
    kwargs = {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2,
              "intermediate_size": 64}
    plain = analyze("hf:bert", kwargs=kwargs, inputs={"input_ids": "1,8:int64"})
    masked = analyze("hf:bert", kwargs=kwargs,
                     inputs={"input_ids": "1,8:int64", "attention_mask": "1,8:int64"})
    assert masked.totals.macs == plain.totals.macs
    assert plain.totals.params == masked.totals.params
