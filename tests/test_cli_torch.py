"""`convcost analyze` on torch sources through the CLI: same tables, exit codes, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
MOBILENET_PY = f"{ROOT / 'tests' / 'models' / 'mobilenet_v1.py'}:MobileNetV1"
MOBILENET_YAML = str(ROOT / "configs" / "mobilenet_v1.yaml")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_torch_mobilenet_matches_the_yaml_config_and_the_paper() -> None:
    code, out, err = run("analyze", MOBILENET_PY, "--input", "1,3,224,224", "--no-reference",
                         "-f", "json")
    assert code == 0, err
    torch_side = json.loads(out)
    code, out, err = run("analyze", MOBILENET_YAML, "--no-reference", "-f", "json")
    yaml_side = json.loads(out)
    assert torch_side["totals"]["macs"] == yaml_side["totals"]["macs"] == 568_740_352
    assert torch_side["totals"]["weights"] == yaml_side["totals"]["weights"] == 4_209_088
    assert torch_side["totals"]["params"] == yaml_side["totals"]["params"]
    assert torch_side["variants"] == yaml_side["variants"]
    assert torch_side["breakdown"] == yaml_side["breakdown"]
    assert torch_side["lower_bound"] is False

    def costed(data: dict) -> list[tuple[str, int, int]]:  # type: ignore[type-arg]
        return [(x["kind"], x["macs"], x["params"]) for x in data["layers"]
                if x["kind"].startswith(("conv", "dw", "pw", "fc", "bn"))]

    assert costed(torch_side) == costed(yaml_side)


def test_torch_reference_fvcore_and_torch_counter() -> None:
    code, out, err = run("analyze", MOBILENET_PY, "--input", "1,3,224,224",
                         "--reference", "fvcore,torch", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["reference"]["torch"]["total"] == data["totals"]["macs"]
    assert data["reference"]["torch"]["status"] == "agree"
    assert data["reference"]["fvcore"]["status"] in ("agree", "explained")


def test_module_factory_with_kwargs() -> None:
    code, out, err = run("analyze", "tests.models.sources:small", "--kwargs", '{"channels": 8}',
                         "--input", "1,3,16,16", "--no-reference", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["macs"] == 8 * 3 * 9 * 16 * 16 + 8 * 2


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["tests.models.nothere:x", "--input", "1,3,16,16"], 2, "nothere"),
        (["tests/models/nothere.py:X"], 2, "nothere"),
        (["tests.models.sources:NOT_CALLABLE", "--input", "1,3,16,16"], 2, "NOT_CALLABLE"),
        (["tests.models.sources:not_a_module", "--input", "1,3,16,16"], 2, "not_a_module"),
        (["tests.models.sources:broken", "--input", "1,3,16,16"], 3,
         "width must be a multiple of 8"),
        (["tests.models.sources:small", "--input", "1,5,16,16"], 3, ""),
        (["tests.models.sources:small", "--input", "1,x,16"], 2, "--input"),
        (["tests.models.sources:small", "--kwargs", "{nope"], 2, "--kwargs"),
    ],
)
def test_bad_sources(args: list[str], code: int, needle: str) -> None:
    got, out, err = run("analyze", *args, "--no-reference")
    assert got == code, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err and "Traceback" not in err


UNCOUNTED = '''
import torch
from torch import nn

class Spectral(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(9, 4)

    def forward(self, x):
        return self.fc(torch.fft.rfft(x).abs())
'''


def test_uncounted_ops_make_a_lower_bound_and_strict_fails(tmp_path: Path) -> None:
    model = tmp_path / "spectral.py"
    model.write_text(UNCOUNTED)
    code, out, err = run("analyze", f"{model}:Spectral", "--input", "2,16", "--no-reference",
                         "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["lower_bound"] is True
    assert any("fft" in u["op"] for u in data["uncounted"])
    code, out, _ = run("analyze", f"{model}:Spectral", "--input", "2,16", "--no-reference")
    assert "Lower bound" in out and "≥" in out
    code, out, err = run("analyze", f"{model}:Spectral", "--input", "2,16", "--no-reference",
                         "--strict")
    assert code == 3 and out == "" and "fft" in err


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    code, out, err = run("analyze", str(tmp_path), "--no-reference")
    assert code == 2 and out == ""
    assert "is a directory" in err and len(err.strip().splitlines()) == 1
