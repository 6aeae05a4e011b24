"""Hostile input that tries to take over convcost's output or files: a model that prints, names
with terminal escapes, control characters in check names, interrupted writes, references too
large to run, bad Python API arguments, pickles in archives."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app
from convcost.cli.safety import clean_text, write_file
from convcost.errors import ConvcostError, InputError
from tests import hostile_inputs as h

CONTROL = [chr(i) for i in (*range(0, 9), 11, 12, *range(14, 32), *range(127, 160))]


def run(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(argv), env={"NO_COLOR": "1", "COLUMNS": "160"})
    return result.exit_code, result.stdout, result.stderr


def no_control(text: str) -> None:
    bad = sorted({repr(ch) for ch in text if ch in CONTROL})
    assert not bad, f"control characters in the output: {bad}"


@pytest.fixture
def models(tmp_path: Path) -> Path:
    pytest.importorskip("torch")
    h.write(tmp_path / "models.py", h.MODELS_PY)
    return tmp_path


# ---------------------------------------------------------------- the model's own output


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_what_the_model_prints_goes_to_stderr(models: Path, fmt: str) -> None:
    code, out, err = run("analyze", f"{models}/models.py:Printer", "--input", "1,3,8,8",
                         "--format", fmt)
    assert code == 0, err
    assert "hello" not in out and "raw write" not in out
    assert "hello from __init__" in err and "hello from forward" in err
    if fmt == "json":
        assert json.loads(out)["totals"]["macs"] == 4 * 3 * 9 * 6 * 6


def test_what_the_models_print_in_a_diff_goes_to_stderr(models: Path) -> None:
    code, out, err = run("diff", f"{models}/models.py:Printer", f"{models}/models.py:Small",
                         "--input", "1,3,8,8", "--format", "json")
    assert code == 0, err
    assert "hello" not in out and "raw write" not in out
    assert "hello from __init__" in err and "hello from forward" in err
    json.loads(out)


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "table"])
def test_terminal_escapes_in_a_layer_name_never_reach_the_output(models: Path,
                                                                  fmt: str) -> None:
    code, out, err = run("analyze", f"{models}/models.py:Escapes", "--input", "1,3,8,8",
                         "--no-reference", "--format", fmt)
    assert code == 0, err
    no_control(out)
    no_control(err)
    if fmt == "json":
        names = [row["name"] for row in json.loads(out)["layers"]]
        assert any(n.startswith("evil") for n in names), names


def test_control_characters_in_check_names_leave_junit_and_markdown_valid(
        tmp_path: Path) -> None:
    h.write(tmp_path / "tiny.yaml", h.TINY_YAML)
    h.write(tmp_path / "budgets.yaml", "version: 1\nchecks:\n"
            '  - name: "evil\\e[2J\\0\\x07\\x85 name"\n    model: tiny.yaml\n'
            "    max: {macs: 1k}\n")
    junit, markdown = tmp_path / "junit.xml", tmp_path / "summary.md"
    for fmt in ("table", "json", "markdown"):
        code, out, err = run("check", str(tmp_path / "budgets.yaml"), "--format", fmt,
                             "--junit", str(junit), "--markdown", str(markdown),
                             "--annotations", "github")
        assert code == 1, err
        no_control(out)
        no_control(err)
        if fmt == "json":
            json.loads(out)
    root = ET.fromstring(junit.read_bytes())
    assert root.find(".//failure") is not None
    no_control(junit.read_text(encoding="utf-8"))
    no_control(markdown.read_text(encoding="utf-8"))


def test_error_messages_carry_no_control_characters(tmp_path: Path) -> None:
    h.write(tmp_path / "bad.yaml", h.TINY_YAML.replace("out: 8,", 'out: "\\e[2J\\a",'))
    code, _out, err = run("analyze", str(tmp_path / "bad.yaml"), "--no-reference")
    assert code == 2
    no_control(err)
    assert err.count("\n") == 1


def test_clean_text_keeps_ordinary_text_and_replaces_controls() -> None:
    ordinary = "layer·1 × 3 → ≥ 1,000\tMACs\r\nnext line\n"
    assert clean_text(ordinary) is ordinary
    assert clean_text("a\x1b[31mb\x07c\x00d\x9be\u202ef\rg") == "a?[31mb?c?d?e?f?g"


def test_clean_text_has_nothing_to_replace_in_printable_text() -> None:
    """clean_text returns printable text at once: every character it replaces is one that
    str.isprintable() refuses (control, format, surrogate and non-characters)."""
    from convcost.cli.safety import _CONTROL

    assert not [hex(i) for i in range(0x110000)
                if chr(i).isprintable() and _CONTROL.search(chr(i))]


# ---------------------------------------------------------------- files


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "baseline.json"
    target.write_text("old contents\n")

    def killed(fd: int) -> None:
        raise KeyboardInterrupt  # as a kill during the write would

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        write_file(target, "new contents\n", "--update-baseline")
    assert target.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_a_full_disk_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    import errno

    target = tmp_path / "report.xml"
    target.write_text("old\n")
    real_replace = os.replace

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(InputError, match="No space left on device"):
        write_file(target, "new\n", "--junit")
    monkeypatch.setattr(os, "replace", real_replace)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xml"]


def test_update_baseline_writes_atomically_and_keeps_the_mode(tmp_path: Path) -> None:
    h.write(tmp_path / "tiny.yaml", h.TINY_YAML)
    h.write(tmp_path / "budgets.yaml", h.budget("tiny.yaml", "max_increase: {macs: 1%}",
                                                "baseline: base/baseline.json"))
    base = tmp_path / "base" / "baseline.json"
    base.parent.mkdir()
    base.write_text("{}")
    base.chmod(0o640)
    code, _out, err = run("check", str(tmp_path / "budgets.yaml"), "--update-baseline")
    assert code == 0, err
    assert json.loads(base.read_text())["checks"]["tiny"]["counts"]["macs"] > 0
    assert base.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in base.parent.iterdir()) == ["baseline.json"]


def test_a_baseline_outside_the_tree_is_allowed_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    h.write(tmp_path / "inner" / "tiny.yaml", h.TINY_YAML)
    h.write(tmp_path / "inner" / "budgets.yaml",
            h.budget("tiny.yaml", "max_increase: {macs: 1%}", "baseline: ../outside.json"))
    code, _, err = run("check", str(tmp_path / "inner" / "budgets.yaml"))
    assert code == 2 and "outside the budget file's directory" in err
    code, _, err = run("check", str(tmp_path / "inner" / "budgets.yaml"), "--baseline",
                       str(tmp_path / "outside.json"), "--update-baseline")
    assert code == 0, err
    assert (tmp_path / "outside.json").exists()


# ---------------------------------------------------------------- bounded reference work


def test_compare_too_large_for_a_reference_still_prints_the_counts() -> None:
    code, out, err = run("compare", "--in", "50000", "--out", "50000", "--format", "json")
    assert code == 0, err
    assert "reference skipped" in err and err.count("\n") == 1
    data = json.loads(out)
    text = json.dumps(data)
    assert str(9 * 50000 * 50000) in text  # the standard conv's weights, exact


def test_a_yaml_input_too_large_for_a_reference_still_prints_the_counts(tmp_path: Path) -> None:
    h.write(tmp_path / "big.yaml", "name: big\ninput: [3, 40000, 40000]\nlayers:\n"
            "  - conv: {out: 8, kernel: 3}\n")
    code, out, err = run("analyze", str(tmp_path / "big.yaml"), "--format", "json")
    assert code == 0, err
    assert "reference skipped" in err
    assert json.loads(out)["totals"]["macs"] == 8 * 3 * 9 * 40000 * 40000


# ---------------------------------------------------------------- the Python API


@pytest.mark.parametrize("kwargs", [
    {"rewrite_as": "bogus"}, {"rewrite_as": 3}, {"reference": "fvcore"},
    {"reference": ["bogus"]}, {"reference": 5}, {"batch": "2"}, {"batch": 0},
    {"batch": True}, {"batch": 10**30}, {"depth": -1}, {"depth": 0}, {"depth": "1"},
    {"width_mult": float("nan")}, {"width_mult": "1"}, {"width_mult": -1.0},
    {"resolution": 0}, {"resolution": 2.5}, {"resolution": 10**20}, {"dtype": 3},
    {"dtype": "float7"}, {"kwargs": [1]}, {"strict": "yes"},
    {"input_shape": (1, 3, 10**20, 8)}, {"input_shape": "1,3,²,8"},
], ids=lambda kw: ",".join(f"{k}={v!r:.20}" for k, v in kw.items()))
def test_the_python_api_raises_convcost_errors(kwargs: dict[str, object]) -> None:
    path = Path(__file__).resolve().parents[1] / "configs" / "mobilenet_v1.yaml"
    with pytest.raises(ConvcostError):
        convcost.analyze(str(path), **kwargs)


# ---------------------------------------------------------------- archives


def test_a_pickle_archive_is_refused_without_running_it(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from convcost.frontends.torch_source import load_model
    from tests.hostile_archives import evil_pt2

    marker = tmp_path / "MARKER"
    evil_pt2(tmp_path / "evil.pt2", marker)
    with pytest.raises(InputError, match="--trust-model-file"):
        load_model(str(tmp_path / "evil.pt2"))
    for argv in (["analyze", str(tmp_path / "evil.pt2"), "--input", "1,3,8,8"],
                 ["check", str(tmp_path / "evil.pt2"), "--input", "1,3,8,8", "--max",
                  "macs=1M"]):
        code, _, err = run(*argv)
        assert code == 2 and "--trust-model-file" in err, err
    assert not marker.exists()
    # the opt-in does what it says: it unpickles (here: the payload creates the marker)
    code, _, err = run("analyze", str(tmp_path / "evil.pt2"), "--input", "1,3,8,8",
                       "--trust-model-file")
    assert marker.exists()
    assert code in (2, 3) and err.count("\n") == 1 and "Traceback" not in err


def test_a_legacy_archive_of_plain_tensors_still_loads(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import zipfile

    import torch
    from torch._export.serde.schema import SCHEMA_VERSION
    from torch._export.serde.serialize import serialize

    from tests.hostile_archives import _small

    art = serialize(torch.export.export(_small(), (torch.zeros(1, 3, 8, 8),)))
    with zipfile.ZipFile(tmp_path / "legacy.pt2", "w") as z:
        z.writestr("version", ".".join(map(str, SCHEMA_VERSION)))
        z.writestr("serialized_exported_program.json", art.exported_program)
        z.writestr("serialized_state_dict.pt", art.state_dict)
        z.writestr("serialized_constants.pt", art.constants)
        z.writestr("serialized_example_inputs.pt", art.example_inputs)
    code, out, err = run("analyze", str(tmp_path / "legacy.pt2"), "--input", "1,3,8,8",
                         "--no-reference", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["totals"]["macs"] == 4 * 3 * 9 * 6 * 6
