"""Hostile input that needs a real process: files that shadow installed packages in the working
directory, closed pipes, signals, the environment (COLUMNS, PYTHONIOENCODING)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import hostile_inputs as h

ROOT = Path(__file__).resolve().parents[1]
CONVCOST = shutil.which("convcost")
SHADOWED = ("fvcore", "torch", "yaml", "typer", "rich", "numpy", "click", "iopath")

pytestmark = pytest.mark.skipif(CONVCOST is None, reason="the convcost command is not installed")


def convcost(*args: str, cwd: Path, env: dict[str, str] | None = None,
             module: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "convcost", *args] if module else [str(CONVCOST), *args]
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("CONVCOST_DEBUG", None)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, encoding="utf-8",
                          errors="replace", env=full_env, timeout=300)


def plant(folder: Path) -> Path:
    """Marker-writing files named like every package convcost imports; returns the marker."""
    marker = folder / "MARKER_shadow"
    for name in SHADOWED:
        h.write(folder / f"{name}.py", f"open({str(marker)!r}, 'a').write({name!r})\n")
    return marker


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    h.write(tmp_path / "tiny.yaml", h.TINY_YAML)
    h.write(tmp_path / "budgets.yaml", h.budget("tiny.yaml", "max: {macs: 1G}"))
    return tmp_path, plant(tmp_path)


def test_a_yaml_model_beside_shadowing_files_runs_none_of_them(
        planted: tuple[Path, Path]) -> None:
    folder, marker = planted
    result = convcost("analyze", "tiny.yaml", "--format", "json", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "tiny"
    assert "fvcore" in result.stdout  # the default reference ran, with the installed fvcore
    assert not marker.exists(), marker.read_text()


def test_python_m_convcost_drops_the_working_directory(planted: tuple[Path, Path]) -> None:
    folder, marker = planted
    result = convcost("analyze", "tiny.yaml", "--no-reference", cwd=folder, module=True)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), marker.read_text()


def test_a_budget_file_beside_shadowing_files_runs_none_of_them(
        planted: tuple[Path, Path]) -> None:
    folder, marker = planted
    result = convcost("check", "budgets.yaml", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "passed" in result.stdout
    assert not marker.exists(), marker.read_text()


def test_a_module_source_in_the_working_directory_is_found_and_cannot_shadow(
        planted: tuple[Path, Path]) -> None:
    folder, marker = planted
    h.write(folder / "mymodels.py", h.MODELS_PY)
    h.write(folder / "torch_budget.yaml", "version: 1\nchecks:\n  - model: mymodels:Small\n"
            "    input: [1, 3, 8, 8]\n    max: {macs: 1M}\n")
    result = convcost("check", "torch_budget.yaml", cwd=folder)
    assert result.returncode == 0, result.stderr
    result = convcost("analyze", "mymodels:Small", "--input", "1,3,8,8", "--format", "json",
                      "--no-reference", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["macs"] == 4 * 3 * 9 * 6 * 6
    assert not marker.exists(), marker.read_text()


def test_a_file_source_beside_shadowing_files_imports_the_installed_packages(
        planted: tuple[Path, Path]) -> None:
    folder, marker = planted
    h.write(folder / "models.py", h.MODELS_PY)
    result = convcost("analyze", "models.py:Small", "--input", "1,3,8,8", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), marker.read_text()


def test_a_closed_pipe_keeps_the_exit_code_the_checks_earned(tmp_path: Path) -> None:
    h.write(tmp_path / "tiny.yaml", h.TINY_YAML)
    h.write(tmp_path / "pass.yaml", h.budget("tiny.yaml", "max: {macs: 1G}"))
    h.write(tmp_path / "fail.yaml", h.budget("tiny.yaml", "max: {macs: 1k}"))
    for budget, expected in (("pass.yaml", 0), ("fail.yaml", 1)):
        for fmt in ("table", "json", "markdown"):
            proc = subprocess.Popen([str(CONVCOST), "check", budget, "--format", fmt],
                                    cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            assert proc.stdout is not None
            proc.stdout.readline()
            proc.stdout.close()  # `| head -1`
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == expected, (budget, fmt, err)
            assert "Traceback" not in err and "Exception ignored" not in err, err
            assert "error" not in err or expected == 1, err


def test_a_closed_pipe_with_a_long_report(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        f"{CONVCOST} analyze {ROOT / 'configs' / 'mobilenet_v1.yaml'} --no-reference | head -1",
        shell=True, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        executable="/bin/bash")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0
    assert out.count("\n") == 1
    assert err == "", err


@pytest.mark.parametrize("args", [["--help"], ["analyze", "--help"], ["check", "--help"]])
def test_help_into_a_closed_pipe_is_quiet(args: list[str], tmp_path: Path) -> None:
    """`convcost analyze --help | head -1`: click and Rich answer a closed stdout with
    sys.exit(1), which is not a model calling sys.exit."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        result = subprocess.run([str(CONVCOST), *args], cwd=tmp_path, stdout=write,
                                stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


def test_a_full_stdout_is_one_line(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    h.write(tmp_path / "tiny.yaml", h.TINY_YAML)
    with open("/dev/full", "w") as full:
        result = subprocess.run([str(CONVCOST), "analyze", "tiny.yaml", "--no-reference"],
                                cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
                                timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error: cannot write"), lines


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_closed_stream_is_a_sink(closed: str, tmp_path: Path) -> None:
    h.write(tmp_path / "tiny.yaml", h.TINY_YAML)
    h.write(tmp_path / "budgets.yaml", h.budget("tiny.yaml", "max: {macs: 1k}"))
    redirect = ">&-" if closed == "stdout" else "2>&-"
    for args, expected in (("analyze tiny.yaml --no-reference", 0), ("check budgets.yaml", 1),
                           ("analyze tiny.yaml --as bogus", 2)):
        proc = subprocess.run(f"{CONVCOST} {args} {redirect}", shell=True, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300,
                              executable="/bin/bash")
        assert proc.returncode == expected, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("env", [{"COLUMNS": "²"}, {"COLUMNS": "٣٣"}, {"COLUMNS": "-5"},
                                 {"COLUMNS": "99999999999999999999"}, {"LINES": "²"},
                                 {"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"},
                                 {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"}],
                         ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()))
def test_the_environment_cannot_break_a_command(env: dict[str, str], tmp_path: Path) -> None:
    h.write(tmp_path / "tiny.yaml", h.TINY_YAML)
    h.write(tmp_path / "budgets.yaml", h.budget("tiny.yaml", "max: {macs: 1G}"))
    for args in (("analyze", "tiny.yaml", "--no-reference"), ("check", "budgets.yaml"),
                 ("analyze", "tiny.yaml", "--as", "bogus")):
        result = convcost(*args, cwd=tmp_path, env=env)
        expected = 2 if "bogus" in args else 0
        assert result.returncode == expected, (args, result.stderr)
        assert "Traceback" not in result.stderr


def _interrupt_after(delay: float, cwd: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.Popen([str(CONVCOST), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def test_ctrl_c_is_one_line_and_130(tmp_path: Path) -> None:
    h.write(tmp_path / "slow.py", "import time\nimport torch\n\n"
            "class Slow(torch.nn.Module):\n    def forward(self, x):\n"
            "        time.sleep(60)\n        return x\n")
    code, err = _interrupt_after(6.0, tmp_path, "analyze", "slow.py:Slow", "--input", "1,3")
    assert code == 130, err
    assert err.strip() == "convcost: error: interrupted", err


def test_ctrl_c_during_start_up_prints_no_traceback(tmp_path: Path) -> None:
    """While the CLI imports typer, rich and torch (seconds), from the moment convcost's own
    code runs; the interpreter's own start-up (tens of milliseconds) is before it."""
    h.write(tmp_path / "models.py", h.MODELS_PY)
    # 0.5 s lands in torch's extension import on this machine, which swallows the handler's
    # exception: the interrupt must still end the run.
    for delay in (0.3, 0.5, 0.7, 1.0):
        code, err = _interrupt_after(delay, tmp_path, "analyze", "models.py:Small", "--input",
                                     "1,3,8,8")
        assert "Traceback" not in err, (delay, err)
        assert code == 130, (delay, code, err)
        assert err.strip() == "convcost: error: interrupted", err
