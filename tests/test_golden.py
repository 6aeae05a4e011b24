"""Rendered reports against golden files: fixed width, colour off.

Regenerate after an intended change with ``CONVCOST_UPDATE_GOLDEN=1 pytest tests/test_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CONVCOST_UPDATE_GOLDEN") == "1"

CASES = {
    "mobilenet_v1_table.txt": ["analyze", str(ROOT / "configs" / "mobilenet_v1.yaml"),
                               "--no-reference"],
    "mobilenet_v1_depth1.md": ["analyze", str(ROOT / "configs" / "mobilenet_v1.yaml"),
                               "--no-reference", "--depth", "1", "--format", "markdown"],
    "compare_table3.txt": ["compare", "--kernel", "3", "--in", "512", "--out", "512",
                           "--size", "14", "--no-reference"],
}


# Run from the repository root with relative paths: a path's length would move table columns.
# name -> (arguments, exit code, the stream held: "stdout" or "stderr")
EXIT_CASES = {
    "torch_small_table.txt": (["analyze", "tests/models/sources.py:small",
                               "--input", "1,3,8,8", "--no-reference"], 0, "stdout"),
    "torch_mobilenet_v1_depth1.json": (["analyze", "tests/models/mobilenet_v1.py:MobileNetV1",
                                        "--input", "1,3,224,224", "--no-reference",
                                        "--depth", "1", "--format", "json"], 0, "stdout"),
    "check_over_budget.txt": (["check", "configs/mobilenet_v1.yaml",
                               "--max", "macs=500M", "--max", "params=4.5M"], 1, "stdout"),
    "error_unknown_key.txt": (["analyze", "tests/golden/inputs/unknown_key.yaml",
                               "--no-reference"], 2, "stderr"),
}


def _matches_golden(name: str, args: list[str], exit_code: int = 0,
                    stream: str = "stdout") -> None:
    env = {"NO_COLOR": "1", "COLUMNS": "140", "GITHUB_ACTIONS": None}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == exit_code, result.stderr
    text = getattr(result, stream).replace(str(ROOT), "<root>")
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with CONVCOST_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_output_matches_golden(name: str) -> None:
    _matches_golden(name, CASES[name])


@pytest.mark.parametrize("name", sorted(EXIT_CASES))
def test_torch_json_check_and_error_output_matches_golden(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name.startswith("torch_"):
        pytest.importorskip("torch")  # the torch-free stage on the oldest Python skips these
    monkeypatch.chdir(ROOT)
    _matches_golden(name, *EXIT_CASES[name])
