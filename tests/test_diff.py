"""`convcost diff` and per-layer baselines: matching, deltas (against arithmetic written here),
git revisions with local imports, and the layers a regression names."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.budget.layer_diff import Change, LayerCost, diff, match
from convcost.cli.app import app

TINY = """name: tiny
input: [3, 32, 32]
layers:
  - conv: {{out: {stem}, kernel: 3, stride: 2, name: stem}}
  - conv: {{out: 32, kernel: 3, name: {body}}}
  - global_pool
  - flatten
{extra}  - linear: {{out: 10, name: head}}
"""


def tiny(stem: int = 16, body: str = "body", extra: str = "") -> str:
    return TINY.format(stem=stem, body=body, extra=extra)


def stem_macs(c: int) -> int:
    return 3 * 3 * 3 * c * 16 * 16  # k·k·M·N·D_F² at a 16×16 output


def body_macs(c: int) -> int:
    return 3 * 3 * c * 32 * 16 * 16


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    base: dict[str, str | None] = {"NO_COLOR": "1", "COLUMNS": "200", "GITHUB_ACTIONS": None}
    result = CliRunner().invoke(app, list(args), env={**base, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- pure matching


def L(name: str, kind: str = "conv 3×3", macs: int = 0, params: int = 0) -> LayerCost:
    return LayerCost(name, kind, macs, params)


def test_match_by_name_then_position() -> None:
    before = [L("a", macs=10), L("b", macs=20), L("c", "fc", macs=5)]
    after = [L("a", macs=10), L("b2", macs=25), L("c", "fc", macs=5), L("d", "fc", macs=7)]
    rows = {r.name: r for r in match(before, after)}
    assert rows["a"].change is Change.UNCHANGED
    assert rows["b → b2"].change is Change.RENAMED and rows["b → b2"].delta("macs") == 5
    assert rows["d"].change is Change.ADDED and rows["d"].delta("macs") == 7
    # every layer of both sides appears exactly once
    assert sum(r.a is not None for r in rows.values()) == 3
    assert sum(r.b is not None for r in rows.values()) == 4


def test_kinds_must_agree_to_pair_by_position() -> None:
    rows = match([L("x", "conv 3×3", 9)], [L("y", "fc", 4)])
    assert sorted(r.change for r in rows) == [Change.ADDED, Change.REMOVED]


def test_diff_sorted_by_impact_and_grown() -> None:
    before = [L("a", macs=100), L("b", macs=100), L("c", macs=100)]
    after = [L("a", macs=90), L("b", macs=150), L("c", macs=120)]
    d = diff(before, after)
    assert [r.name for r in d.rows] == ["b", "c", "a"]
    assert d.delta("macs") == 60 and d.pct("macs") == pytest.approx(20.0)
    assert [r.name for r in d.grown("macs")] == ["b", "c"]
    assert d.increased and d.unchanged == 0


# ---------------------------------------------------------------- the command


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_diff_two_yaml_files(scratch: Path) -> None:
    (scratch / "a.yaml").write_text(tiny(16))
    (scratch / "b.yaml").write_text(tiny(24, extra="  - linear: {out: 32, name: extra}\n"))
    code, out, err = run("diff", "a.yaml", "b.yaml", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    rows = {r["name"]: r for r in data["layers"]}
    assert rows["stem"]["macs"]["delta"] == stem_macs(24) - stem_macs(16)
    assert rows["body"]["macs"]["delta"] == body_macs(24) - body_macs(16)
    assert rows["body"]["change"] == "resized"
    assert rows["extra"]["change"] == "added" and rows["extra"]["macs"]["delta"] == 32 * 32
    # the head reads 32 features either way: unchanged; so are pool and flatten
    assert "head" not in rows and data["unchanged"] == 3
    total = stem_macs(24) - stem_macs(16) + body_macs(24) - body_macs(16) + 32 * 32
    assert data["totals"]["macs"]["delta"] == total
    assert [r["name"] for r in data["layers"]][:2] == ["body", "stem"]  # largest change first
    assert data["increased"] is True
    code, _, _ = run("diff", "a.yaml", "b.yaml", "--fail-on-increase")
    assert code == 1
    code, _, _ = run("diff", "b.yaml", "a.yaml", "--fail-on-increase")
    assert code == 0


def test_diff_renamed_layer_and_markdown(scratch: Path) -> None:
    (scratch / "a.yaml").write_text(tiny())
    (scratch / "b.yaml").write_text(tiny(body="trunk"))
    code, out, _ = run("diff", "a.yaml", "b.yaml", "--format", "markdown")
    assert code == 0
    assert "| `body → trunk` | renamed |" in out
    assert out.startswith("### ✓ convcost diff: `a.yaml` → `b.yaml`")
    code, out, _ = run("diff", "a.yaml", "b.yaml")
    assert code == 0 and "renamed" in out and "1 renamed" in out


def test_diff_errors(scratch: Path) -> None:
    (scratch / "a.yaml").write_text(tiny())
    code, _, err = run("diff", "a.yaml")
    assert code == 2 and err.startswith("convcost: error:")
    code, _, err = run("diff", "a.yaml", "missing.yaml")
    assert code == 2 and "missing.yaml" in err
    code, _, err = run("diff", "a.yaml", "--rev", "HEAD")
    assert code == 2 and "git" in err  # not a repository


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


MODEL = """import torch.nn as nn
from blocks import WIDTH


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.conv1 = nn.Conv2d(16, WIDTH, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(WIDTH, 32, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv2(self.conv1(self.stem(x)))
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_between_git_revisions_reads_local_imports(scratch: Path) -> None:
    pytest.importorskip("torch")
    (scratch / "models").mkdir()
    (scratch / "models" / "net.py").write_text(MODEL)
    (scratch / "models" / "blocks.py").write_text("WIDTH = 16\n")
    git(scratch, "init", "-q")
    git(scratch, "-c", "user.email=a@b", "-c", "user.name=t", "add", "-A")
    git(scratch, "-c", "user.email=a@b", "-c", "user.name=t", "commit", "-qm", "one")
    # only the imported file changes: the model file itself is the same at both revisions
    (scratch / "models" / "blocks.py").write_text("WIDTH = 24\n")
    git(scratch, "-c", "user.email=a@b", "-c", "user.name=t", "commit", "-qam", "two")
    (scratch / "models" / "blocks.py").write_text("WIDTH = 8\n")  # uncommitted
    hw = 8 * 8

    def conv(cin: int, cout: int) -> int:
        return 9 * cin * cout * hw

    code, out, err = run("diff", "models/net.py:Net", "--rev", "HEAD~1", "--rev", "HEAD",
                         "--input", "1,3,8,8", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    rows = {r["name"]: r for r in data["layers"]}
    assert set(rows) == {"conv1", "conv2"}
    assert rows["conv1"]["macs"]["delta"] == conv(16, 24) - conv(16, 16)
    assert rows["conv2"]["macs"]["delta"] == conv(24, 32) - conv(16, 32)
    assert data["a"]["label"] == "models/net.py:Net@HEAD~1"
    # one revision: against the working tree
    code, out, _ = run("diff", "models/net.py:Net", "--rev", "HEAD", "--input", "1,3,8,8",
                       "--format", "json")
    assert code == 0
    assert json.loads(out)["totals"]["macs"]["delta"] == (
        conv(16, 8) + conv(8, 32) - conv(16, 24) - conv(24, 32))
    code, _, err = run("diff", "models/net.py:Net", "--rev", "no-such-rev", "--input", "1,3,8,8")
    assert code == 2 and "git" in err


# ---------------------------------------------------------------- per-layer baselines


BUDGET = """version: 1
baseline: .convcost/baseline.json
checks:
  - name: tiny
    model: tiny.yaml
    max_increase: {macs: 1%}
"""


def test_regression_names_the_layers_that_grew(scratch: Path) -> None:
    (scratch / "tiny.yaml").write_text(tiny(16))
    (scratch / "budgets.yaml").write_text(BUDGET)
    code, _, err = run("check", "budgets.yaml", "--update-baseline")
    assert code == 0, err
    stored = json.loads((scratch / ".convcost" / "baseline.json").read_text())
    layers = stored["checks"]["tiny"]["layers"]
    assert layers[0] == ["stem", "conv 3×3", stem_macs(16), 432, 432, 0, 30400]
    assert sum(x[2] for x in layers) == stored["checks"]["tiny"]["counts"]["macs"]

    (scratch / "tiny.yaml").write_text(tiny(24))
    grown_body = body_macs(24) - body_macs(16)
    grown_stem = stem_macs(24) - stem_macs(16)
    code, out, _ = run("check", "budgets.yaml")
    assert code == 1
    assert f"grew most: body {grown_body:+,} (+50.00%), stem {grown_stem:+,} (+50.00%)" in out
    # the hint is a command that runs as printed
    assert "run convcost check budgets.yaml --update-baseline to accept" in out

    code, out, _ = run("check", "budgets.yaml", "--format", "json", "--junit", "j.xml",
                       "--markdown", "r.md", env={"GITHUB_ACTIONS": "true"})
    assert code == 1
    violation = json.loads(out)["violations"][0]
    assert [x["name"] for x in violation["layers"]] == ["body", "stem"]
    assert violation["layers"][0]["delta"] == grown_body
    failure = ET.parse(scratch / "j.xml").getroot().find(".//failure")
    assert failure is not None and "grew most: body" in failure.get("message", "")
    md = (scratch / "r.md").read_text()
    assert "grew most: body" in md and "**tiny: the layers whose macs grew most**" in md
    assert f"| `body` | resized | {body_macs(16):,} | {body_macs(24):,} | {grown_body:+,} |" in md


def test_old_baseline_without_layers_still_reads(scratch: Path) -> None:
    (scratch / "tiny.yaml").write_text(tiny(16))
    (scratch / "budgets.yaml").write_text(BUDGET)
    run("check", "budgets.yaml", "--update-baseline")
    path = scratch / ".convcost" / "baseline.json"
    data = json.loads(path.read_text())
    del data["checks"]["tiny"]["layers"]
    path.write_text(json.dumps(data))
    (scratch / "tiny.yaml").write_text(tiny(24))
    code, out, err = run("check", "budgets.yaml")
    assert code == 1 and "grew most" not in out and "against the baseline" in out, err
    code, out, _ = run("diff", ".convcost/baseline.json", "tiny.yaml", "--format", "json")
    assert code == 0 and json.loads(out)["a"]["per_layer"] is False


def test_diff_against_a_baseline(scratch: Path) -> None:
    (scratch / "tiny.yaml").write_text(tiny(16))
    (scratch / "budgets.yaml").write_text(BUDGET)
    run("check", "budgets.yaml", "--update-baseline")
    (scratch / "tiny.yaml").write_text(tiny(24))
    code, out, err = run("diff", ".convcost/baseline.json", "tiny.yaml", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["a"]["label"] == ".convcost/baseline.json#tiny"
    assert {r["name"] for r in data["layers"]} == {"stem", "body"}
    code, _, err = run("diff", ".convcost/baseline.json#nope", "tiny.yaml")
    assert code == 2 and "tiny" in err


# ---------------------------------------------------------------- reports when the check cannot run


@pytest.mark.parametrize(("model", "code"), [("missing.yaml", 2), ("broken.py:Net", 3)])
def test_exit_2_and_3_still_write_reports(scratch: Path, model: str, code: int) -> None:
    pytest.importorskip("torch") if code == 3 else None
    (scratch / "broken.py").write_text("raise RuntimeError('boom')\n")
    (scratch / "budgets.yaml").write_text(
        f"version: 1\nchecks:\n  - name: m\n    model: {model}\n"
        + ("    input: [1, 3, 8, 8]\n" if model.endswith(":Net") else "")
        + "    max: {macs: 1G}\n")
    got, _, err = run("check", "budgets.yaml", "--markdown", "r.md", "--junit", "j.xml",
                      env={"GITHUB_ACTIONS": "true"})
    assert got == code
    md = (scratch / "r.md").read_text()
    assert "could not run" in md and f"exit {code}" in md
    error = ET.parse(scratch / "j.xml").getroot().find(".//error")
    assert error is not None and error.get("message")
    assert any(line.startswith("::error ") for line in err.splitlines())


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_module_source_at_a_revision(scratch: Path) -> None:
    pytest.importorskip("torch")
    pkg = scratch / "diffpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "blocks.py").write_text("WIDTH = 16\n")
    (pkg / "net.py").write_text(
        "import torch.nn as nn\nfrom .blocks import WIDTH\n\n\ndef make():\n"
        "    return nn.Sequential(nn.Conv2d(3, WIDTH, 3, padding=1, bias=False))\n")
    git(scratch, "init", "-q")
    git(scratch, "-c", "user.email=a@b", "-c", "user.name=t", "add", "-A")
    git(scratch, "-c", "user.email=a@b", "-c", "user.name=t", "commit", "-qm", "one")
    (pkg / "blocks.py").write_text("WIDTH = 32\n")
    code, out, err = run("diff", "diffpkg.net:make", "--rev", "HEAD", "--input", "1,3,8,8",
                         "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["macs"]["a"] == 9 * 3 * 16 * 64
    assert data["totals"]["macs"]["b"] == 9 * 3 * 32 * 64
