"""Every option applies to its source or is refused with one line (exit 2) before anything
loads; none is silently ignored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app
from convcost.core.dtypes import DType

ROOT = Path(__file__).resolve().parents[1]
SMALL = str(ROOT / "tests" / "models" / "sources.py") + ":small"
BROKEN = str(ROOT / "tests" / "models" / "sources.py") + ":broken"
TINY = """name: tiny
input: [3, 16, 16]
{dtype}layers:
  - conv: {{out: 8, kernel: 3}}
  - global_pool: {{}}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("convcost: error: ")
    return lines[0]


@pytest.fixture
def half(tmp_path: Path) -> Path:
    path = tmp_path / "tiny_fp16.yaml"
    path.write_text(TINY.format(dtype="dtype: fp16\n"))
    return path


def _bytes(*args: str) -> int:
    code, out, err = run("analyze", *args, "--no-reference", "--format", "json")
    assert code == 0, err
    total: int = json.loads(out)["totals"]["bytes"]
    return total


def test_dtype_float32_overrides_a_yaml_fp16(half: Path, tmp_path: Path) -> None:
    plain = tmp_path / "tiny.yaml"
    plain.write_text(TINY.format(dtype=""))
    as_written = _bytes(str(half))
    forced = _bytes(str(half), "--dtype", "float32")
    assert forced == _bytes(str(plain)) == 2 * as_written


def test_dtype_on_a_torch_model_takes_effect() -> None:
    from tests.models.sources import Small

    default = convcost.analyze(Small(), input_shape=(1, 3, 8, 8))
    half = convcost.analyze(Small(), input_shape=(1, 3, 8, 8), dtype="float16")
    assert default.analysis.dtype is DType.FLOAT32
    assert half.analysis.dtype is DType.FLOAT16
    assert 2 * half.totals.bytes == default.totals.bytes
    assert half.totals.macs == default.totals.macs


@pytest.mark.parametrize(("extra", "flag"), [
    (["--input", "1,3,16,16"], "--input"),
    (["--kwargs", '{"n": 1}'], "--kwargs"),
])
def test_torch_options_on_a_yaml_source_are_refused(half: Path, extra: list[str],
                                                     flag: str) -> None:
    code, out, err = run("analyze", str(half), "--no-reference", *extra)
    assert code == 2 and out == ""
    assert flag in one_error_line(err)


@pytest.mark.parametrize(("extra", "flag"), [
    (["--width-mult", "0.5"], "--width-mult"),
    (["--resolution", "160"], "--resolution"),
    (["--batch", "8"], "--batch"),
])
def test_yaml_options_on_a_torch_source_are_refused(extra: list[str], flag: str) -> None:
    code, out, err = run("analyze", SMALL, "--input", "1,3,8,8", "--no-reference", *extra)
    assert code == 2 and out == ""
    assert flag in one_error_line(err)


def test_a_torch_source_without_input_is_refused_before_it_is_built() -> None:
    # the factory raises when called: the refusal must come first
    code, out, err = run("analyze", BROKEN, "--no-reference")
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert "--input" in line and "width must be a multiple" not in line
