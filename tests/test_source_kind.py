"""The one ``target:name`` splitter and the source suffixes."""

from __future__ import annotations

import pytest

from convcost.frontends.source_kind import is_yaml, looks_like_path, split_target


@pytest.mark.parametrize(("source", "expected"), [
    ("models/net.py:Net", ("models/net.py", "Net")),
    ("torchvision.models:resnet50", ("torchvision.models", "resnet50")),
    ("m:Net", ("m", "Net")),
    ("models/net.py", ("models/net.py", None)),
    ("C:\\models\\net.py", ("C:\\models\\net.py", None)),
    ("C:/models/net.py", ("C:/models/net.py", None)),
    ("C:\\models\\net.py:Net", ("C:\\models\\net.py", "Net")),
    (":Net", (":Net", None)),
    ("model.pt2", ("model.pt2", None)),
])
def test_split_target(source: str, expected: tuple[str, str | None]) -> None:
    assert split_target(source) == expected


def test_kinds_of_source() -> None:
    assert is_yaml("configs/Net.YML") and not is_yaml("net.py:Net") and not is_yaml(3)
    assert looks_like_path("dir/net.py:Net") and looks_like_path("net.pt2")
    assert not looks_like_path("torchvision.models:resnet50")


def test_sweep_says_it_takes_a_yaml_description() -> None:
    from typer.testing import CliRunner

    from convcost.cli.app import app

    result = CliRunner().invoke(app, ["sweep", "torchvision.models:resnet50"])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sweep takes a YAML model description" in lines[0]
    assert "no such file" not in lines[0]
