"""The README's examples run as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from typer.testing import CliRunner

from convcost.cli.app import app

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_yaml_example_analyses(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no YAML example"
    model = tmp_path / "tiny.yaml"
    model.write_text(textwrap.dedent(blocks[0]))
    result = CliRunner().invoke(app, ["analyze", str(model), "--no-reference", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert '"model": "tiny"' in result.stdout


def test_the_readme_opens_with_the_two_setup_commands() -> None:
    commands = re.findall(r"^\$ (pip install .*)$", README.read_text(encoding="utf-8"), re.M)
    assert commands[:2] == [
        "pip install -e . && convcost analyze configs/mobilenet_v1.yaml",
        "pip install -e '.[test]' && pytest -n auto",
    ]
