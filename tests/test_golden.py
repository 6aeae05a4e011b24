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


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_output_matches_golden(name: str) -> None:
    result = CliRunner().invoke(app, CASES[name], env={"NO_COLOR": "1", "COLUMNS": "140"})
    assert result.exit_code == 0, result.stderr
    text = result.stdout.replace(str(ROOT), "<root>")
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with CONVCOST_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
