"""docs/github-actions.md runs as written: its workflow parses, and its shell steps that call
convcost run (in a scratch git repository holding this project's budget, configs and
baseline), leaving a job summary whether the check passes, fails or cannot run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "github-actions.md"
EXPRESSIONS = {"github.event.pull_request.base.sha": "HEAD~1"}


def workflow() -> dict[str, Any]:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None, "docs/github-actions.md has no ```yaml block"
    data = yaml.safe_load(block.group(1))
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    jobs = workflow()["jobs"]
    (job,) = jobs.values()
    return list(job["steps"])


def test_workflow_shape() -> None:
    data = workflow()
    assert data["on"] if "on" in data else data[True]  # YAML 1.1 reads `on` as True
    all_steps = steps()
    names = [s.get("uses", s.get("name")) for s in all_steps]
    assert names[0] == "actions/checkout@v4"
    setup = all_steps[1]
    assert setup["uses"] == "actions/setup-python@v5" and setup["with"]["cache"] == "pip"
    install = next(s["run"] for s in all_steps if "pip install" in s.get("run", ""))
    assert "--index-url https://download.pytorch.org/whl/cpu" in install
    assert "pip install convcost\n" not in install  # not on PyPI
    for step in all_steps:
        if "convcost-report.md" in step.get("run", "") and "convcost check" not in step["run"]:
            assert "always()" in step.get("if", "")  # a summary even after a failure


def substitute(text: str) -> str:
    def value(m: re.Match[str]) -> str:
        return EXPRESSIONS[m.group(1).strip()]

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def run_steps(repo: Path, summary: Path) -> dict[str, int]:
    """Every step that runs convcost (and the summary step), as Actions would: bash -eo
    pipefail, GITHUB_ACTIONS=true, each step whatever the previous one returned."""
    codes: dict[str, int] = {}
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
           "NO_COLOR": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}
    for step in steps():
        script = step.get("run")
        if script is None or "pip install" in script:
            continue
        step_env = {k: substitute(str(v)) for k, v in step.get("env", {}).items()}
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               substitute(script)], cwd=repo, env={**env, **step_env},
                              capture_output=True, text=True, timeout=300)
        codes[step["name"]] = done.returncode
        if done.returncode not in (0, 1, 2, 3):
            pytest.fail(f"{step['name']}: exit {done.returncode}\n{done.stderr}")
    return codes


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for part in ("configs", ".convcost"):
        shutil.copytree(ROOT / part, tmp_path / part)
    shutil.copy(ROOT / "budgets.yaml", tmp_path / "budgets.yaml")
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    # a second commit, so that the base revision (HEAD~1) exists
    subprocess.run([*git, "commit", "-qam", "empty", "--allow-empty"], cwd=tmp_path, check=True)
    return tmp_path


def test_workflow_steps_pass_and_summarise(repo: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    codes = run_steps(repo, summary)
    assert codes == {name: 0 for name in codes}, codes
    text = summary.read_text()
    assert "convcost check passed" in text
    assert "convcost diff: `configs/mobilenet_v1.yaml@HEAD~1` → `configs/mobilenet_v1.yaml`" \
        in text
    assert (repo / "convcost-junit.xml").is_file()


def test_workflow_summary_when_a_model_cannot_be_read(repo: Path, tmp_path: Path) -> None:
    (repo / "configs" / "vgg16.yaml").unlink()
    summary = tmp_path / "summary.md"
    codes = run_steps(repo, summary)
    assert codes["Check cost budgets"] == 2
    assert codes["Job summary"] == 0
    text = summary.read_text()
    assert "could not run" in text and "vgg16.yaml" in text
    assert "<error" in (repo / "convcost-junit.xml").read_text()


def test_workflow_summary_when_a_budget_fails(repo: Path, tmp_path: Path) -> None:
    path = repo / "configs" / "mobilenet_v1.yaml"
    text = path.read_text()
    assert "out: 1000" in text
    path.write_text(text.replace("1000", "2000", 1))  # a wider classifier
    summary = tmp_path / "summary.md"
    codes = run_steps(repo, summary)
    assert codes["Check cost budgets"] == 1
    report = summary.read_text()
    assert "convcost check failed" in report and "grew most: fc" in report
    assert "| `fc` | resized |" in report  # the diff against the base revision


# ---------------------------------------------------------------- the pre-commit hook


def test_pre_commit_hook_fires_on_model_code() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    files = re.compile(hook["files"])
    for path in ("models/mynet.py", "models/blocks.py", "budgets.yaml", "configs/net.yml",
                 ".convcost/baseline.json", "export/net.pt2", "net.onnx"):
        assert files.search(path), path
    for path in ("README.md", "docs/budgets.md", "LICENSE", "data/train.csv"):
        assert not files.search(path), path
    assert hook["pass_filenames"] is False and hook["entry"] == "convcost check"
    # the documented local hook uses the same filter
    docs = (ROOT / "docs" / "budgets.md").read_text()
    local = re.search(r"```yaml\n(repos:\n  - repo: local\n.*?)```", docs, re.S)
    assert local is not None
    (doc_hook,) = yaml.safe_load(local.group(1))["repos"][0]["hooks"]
    assert doc_hook["files"] == hook["files"] and doc_hook["language"] == "system"
    assert "rev: v0.1.0" not in docs  # no pin to a tag that does not exist
