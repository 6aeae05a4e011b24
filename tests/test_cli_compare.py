"""`convcost compare` through Typer's CliRunner: exit code, stdout and stderr apart."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from convcost import __version__
from convcost.cli.app import app

TABLE3 = ["compare", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_json_reproduces_table3_with_fvcore_agreeing() -> None:
    code, out, err = run(*TABLE3, "--format", "json")
    assert code == 0, err
    data = json.loads(out)  # stdout holds only JSON
    assert data["schema"] == 1
    assert "macs" in data["convention"]
    assert data["standard"]["macs"] == 3 * 3 * 512 * 512 * 14 * 14 == 462_422_016
    assert data["separable"]["macs"] == 3 * 3 * 512 * 14 * 14 + 512 * 512 * 14 * 14
    assert data["standard"]["params"] == 2_359_296
    assert data["separable"]["params"] == 266_752
    assert data["depthwise"]["macs"] + data["pointwise"]["macs"] == data["separable"]["macs"]
    for v in ("standard", "depthwise", "pointwise", "separable"):
        for key in ("macs", "flops", "params", "bytes"):
            assert isinstance(data[v][key], int)
        assert data[v]["flops"] == 2 * data[v]["macs"]
        assert data[v]["output_shape"] == [1, 512, 14, 14]
        assert data["reference"]["fvcore"][v] == data[v]["macs"]
    assert data["ratio"]["exact"] == pytest.approx(1 / 512 + 1 / 9)
    assert data["ratio"]["formula"] == pytest.approx(1 / 512 + 1 / 9)


def test_json_has_no_reference_when_off() -> None:
    code, out, _ = run("compare", "--in", "32", "--out", "64", "--no-reference", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert "reference" not in data
    assert data["input"]["per_position"] is True
    # per output position: D_K²·M·N, D_K²·M, M·N
    assert data["standard"]["macs"] == 9 * 32 * 64
    assert data["depthwise"]["macs"] == 9 * 32
    assert data["pointwise"]["macs"] == 32 * 64


def test_table_shows_numbers_reduction_and_agreement() -> None:
    code, out, err = run(*TABLE3)
    assert code == 0, err
    assert "462,422,016" in out and "52,283,392" in out
    assert "2,359,296" in out and "266,752" in out
    assert "1/512 + 1/9" in out and "8.84× fewer" in out
    assert "fvcore agrees with every variant" in out
    assert "\x1b[" not in out  # NO_COLOR
    assert err == ""


def test_table_says_per_position_without_size() -> None:
    code, out, _ = run("compare", "--in", "32", "--out", "64", "--no-reference")
    assert code == 0
    assert "per output position" in out


def test_csv_is_exact_integers() -> None:
    code, out, _ = run(*TABLE3, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["variant"] for r in rows] == ["standard", "depthwise", "pointwise", "separable"]
    assert int(rows[0]["macs"]) == 462_422_016
    assert int(rows[3]["params"]) == 266_752
    assert int(rows[0]["fvcore_macs"]) == 462_422_016


def test_markdown_table() -> None:
    code, out, _ = run(*TABLE3, "--format", "markdown", "--no-reference")
    assert code == 0
    assert "| standard |" in out and "---:" in out and "462,422,016" in out


def test_options_change_the_numbers() -> None:
    code, out, _ = run(
        "compare", "-k", "3", "--in", "16", "--out", "32", "--size", "20x30", "--stride", "2",
        "--padding", "valid", "--dilation", "2", "--bias", "--depth-multiplier", "2",
        "--batch", "3", "--dtype", "float16", "-f", "json",
    )
    assert code == 0, out
    d = json.loads(out)
    oh, ow = (20 - 5) // 2 + 1, (30 - 5) // 2 + 1
    assert d["standard"]["output_shape"] == [3, 32, oh, ow]
    assert d["standard"]["macs"] == 3 * 32 * oh * ow * 16 * 9
    assert d["depthwise"]["macs"] == 3 * 32 * oh * ow * 9
    assert d["pointwise"]["macs"] == 3 * 32 * oh * ow * 32
    assert d["standard"]["params"] == 32 * 16 * 9 + 32
    assert d["reference"]["fvcore"]["standard"] == d["standard"]["macs"]
    in_bytes = 3 * 16 * 20 * 30
    assert d["standard"]["bytes"] == 2 * (in_bytes + 3 * 32 * oh * ow + 32 * 16 * 9 + 32)


@pytest.mark.parametrize(
    ("dims", "size", "shape"), [("1", "50", [1, 8, 50]), ("3", "4x8x8", [1, 8, 4, 8, 8])]
)
def test_dims(dims: str, size: str, shape: list[int]) -> None:
    code, out, _ = run("compare", "--in", "4", "--out", "8", "--dims", dims, "--size", size, "-f",
                       "json")
    assert code == 0, out
    assert json.loads(out)["standard"]["output_shape"] == shape


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--in", "0", "--out", "8"], "--in"),
        (["--in", "-4", "--out", "8"], "--in"),
        (["--in", "4", "--out", "8", "--kernel", "0"], "--kernel"),
        (["--in", "4.5", "--out", "8"], "--in"),
        (["--in", "4", "--out", "8", "--size", "0"], "--size"),
        (["--in", "4", "--out", "8", "--size", "12x"], "--size"),
        (["--in", "4", "--out", "8", "--size", "7.5"], "--size"),
        (["--in", "4", "--out", "8", "--size", "3", "--kernel", "7", "--padding", "valid"],
         "--kernel"),
        (["--in", "4", "--out", "8", "--padding", "half"], "--padding"),
        (["--in", "4", "--out", "8", "--padding", "-1"], "--padding"),
        (["--in", "4", "--out", "8", "--depth-multiplier", "0"], "--depth-multiplier"),
        (["--in", "4", "--out", "8", "--stride", "0"], "--stride"),
        (["--in", "4", "--out", "8", "--dims", "4"], "--dims"),
        (["--in", "4", "--out", "8", "--format", "xml"], "--format"),
        (["--in", "4", "--out", "8", "--dtype", "float7"], "--dtype"),
        (["--in", "4", "--out", "8", "--size", "4x4x4"], "--size"),
        (["--out", "8"], "--in"),
        (["--in", "4", "--out", "8", "--bogus"], "--bogus"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], flag: str) -> None:
    code, out, err = run("compare", "--no-reference", *args)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("convcost: error:")
    assert flag in lines[0]
    assert "Traceback" not in err


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0 and __version__ in out
    code, out, _ = run("compare", "--help")
    assert code == 0 and "Example" in out and "--kernel" in out
    code, out, _ = run("--help")
    assert code == 0 and "Example" in out
