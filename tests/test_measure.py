"""`--measure` (real latency with torch) and the benchmark harness's smoke mode.

Only shapes and signs are asserted here: timing values belong to benchmarks/, never to a test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--repeats", "2", "--warmup", "0"]
SMALL = ["compare", "--kernel", "3", "--in", "8", "--out", "16", "--size", "8",
         "--no-reference", *FAST]

TINY_YAML = """name: Tiny
input: [4, 12, 12]
layers:
  - conv: {name: stem, out: 8, kernel: 3, norm: batch, activation: relu}
  - separable: {name: sep, out: 16, stride: 2}
  - global_pool: {mode: avg}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _positive_ms(data: dict[str, object], keys: list[str]) -> None:
    for k in keys:
        value = data[k]
        assert isinstance(value, float) and value > 0, (k, value)


def test_compare_measure_json_has_measured_fields() -> None:
    code, out, err = run(*SMALL, "--measure", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    m = data["measured"]
    _positive_ms(m, ["standard_ms", "depthwise_ms", "pointwise_ms", "separable_ms", "speedup"])
    assert m["macs_speedup"] == pytest.approx(data["fewer"])
    assert m["repeats"] == 2 and m["warmup"] == 0 and m["unit"] == "ms"
    assert m["device"] in ("cpu", "cuda") and isinstance(m["threads"], int) and m["threads"] >= 1
    for lo, hi in m["range_ms"].values():
        assert 0 < lo <= hi


def test_compare_without_measure_has_no_measured_object() -> None:
    code, out, err = run(*SMALL, "--format", "json")
    assert code == 0, err
    assert "measured" not in json.loads(out)


def test_compare_measure_table_shows_both_speedups() -> None:
    code, out, err = run(*SMALL, "--measure")
    assert code == 0, err
    assert "Measured with torch" in out
    assert "MACs say the separable form is" in out and "measured" in out
    assert "torch thread" in out  # threads are reported


def test_compare_measure_markdown() -> None:
    code, out, err = run(*SMALL, "--measure", "--format", "markdown")
    assert code == 0, err
    assert "| variant | median ms |" in out and "MACs say" in out


def test_measure_rejects_zero_repeats() -> None:
    code, out, err = run("compare", "-k", "3", "--in", "4", "--out", "4", "--no-reference",
                         "--measure", "--repeats", "0")
    assert code == 2 and out == ""
    assert "--repeats" in err


def test_analyze_measure_json(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_YAML)
    code, out, err = run("analyze", str(spec), "--no-reference", "--measure", *FAST,
                         "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    m = data["measured"]
    assert m["unit"] == "ms" and m["repeats"] == 2
    written = sorted(layer["written"] for layer in m["layers"])
    assert written == ["separable", "standard"]  # the stem conv and the dw+pw pair
    for layer in m["layers"]:
        _positive_ms(layer, ["standard_ms", "separable_ms", "speedup", "macs_speedup"])
        assert layer["standard_macs"] > layer["separable_macs"] > 0
    total = m["total"]
    assert total["standard_ms"] == pytest.approx(sum(x["standard_ms"] for x in m["layers"]))
    assert total["macs_speedup"] == pytest.approx(total["standard_macs"] /
                                                  total["separable_macs"])


def test_analyze_measure_table(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_YAML)
    code, out, err = run("analyze", str(spec), "--no-reference", "--measure", *FAST)
    assert code == 0, err
    assert "Measured with torch" in out and "MACs say" in out


def test_analyze_without_measure_has_no_measured_object(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_YAML)
    code, out, err = run("analyze", str(spec), "--no-reference", "--format", "json")
    assert code == 0, err
    assert "measured" not in json.loads(out)


LONE_DW_YAML = """name: LoneDepthwise
input: [8, 12, 12]
layers:
  - depthwise: {name: dw, kernel: 3, norm: batch, activation: relu}
  - global_pool: {mode: avg}
"""


def test_analyze_measure_times_a_lone_depthwise_conv_as_its_dense_alternative(
        tmp_path: Path) -> None:
    spec = tmp_path / "lone.yaml"
    spec.write_text(LONE_DW_YAML)
    code, out, err = run("analyze", str(spec), "--no-reference", "--measure", *FAST,
                         "--format", "json")
    assert code == 0, err
    (layer,) = json.loads(out)["measured"]["layers"]
    assert layer["written"] == "separable"
    # dense 3×3 conv with 8 -> 8 channels against the depthwise one, over 12×12 outputs
    assert layer["standard_macs"] == 9 * 8 * 8 * 12 * 12
    assert layer["separable_macs"] == 9 * 8 * 12 * 12


def test_analyze_measure_times_a_depthwise_conv_paired_with_a_linear_layer(
        tmp_path: Path) -> None:
    model = tmp_path / "nextblock.py"
    model.write_text(
        "import torch\n"
        "from torch import nn\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)\n"
        "        self.norm = nn.LayerNorm(8)\n"
        "        self.fc = nn.Linear(8, 16)\n"
        "    def forward(self, x):\n"
        "        x = self.dw(x).permute(0, 2, 3, 1)\n"
        "        return self.fc(self.norm(x))\n"
    )
    code, out, err = run("analyze", f"{model}:Block", "--input", "1,8,10,10",
                         "--no-reference", "--measure", *FAST, "--format", "json")
    assert code == 0, err
    layers = json.loads(out)["measured"]["layers"]
    paired = [x for x in layers if x["separable_macs"] == 49 * 8 * 100 + 8 * 16 * 100]
    assert paired and paired[0]["standard_macs"] == 49 * 8 * 16 * 100
