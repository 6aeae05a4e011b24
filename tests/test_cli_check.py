"""`convcost check` through the CLI: exit codes, stdout and stderr apart, every output format."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
MACS, PARAMS, WEIGHTS = 568_740_352, 4_231_976, 4_209_088
VGG_MACS = 15_470_264_320


def run(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    base: dict[str, str | None] = {"NO_COLOR": "1", "COLUMNS": "200", "GITHUB_ACTIONS": None}
    result = CliRunner().invoke(app, list(args), env={**base, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch repository with the shipped configs; the working directory is its root."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return path.name


# line 6 holds mobilenet's max; line 11 the classifier's; line 7 its max_increase
BUDGET = """version: 1
baseline: .convcost/baseline.json
checks:
  - name: mobilenet
    model: configs/mobilenet_v1.yaml
    max: {{macs: {macs}, params: 4.5M}}
    max_increase: {{macs: 1%, params: +50k}}
  - name: classifier head
    model: configs/mobilenet_v1.yaml
    scope: "fc*"
    max: {{params: {head}}}
    level: warn
  - name: vgg
    model: configs/vgg16.yaml
    max: {{macs: 15.5G}}
"""


def budget(macs: str = "600M", head: str = "1.1M") -> str:
    return BUDGET.format(macs=macs, head=head)


# ---------------------------------------------------------------- the project's own budget


def test_the_projects_budget_passes() -> None:
    code, out, err = run("check", str(ROOT / "budgets.yaml"), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["summary"]["fail"] == 0 and data["summary"]["warn"] == 0
    assert {c["name"] for c in data["checks"]} >= {"mobilenet_v1", "mobilenet_v2", "resnet50",
                                                     "vgg16", "xception"}
    assert all(m["baseline_state"] in ("ok", "unused")
               for c in data["checks"] for m in c["metrics"])


# ---------------------------------------------------------------- pass, fail, warn


def test_pass_table(repo: Path) -> None:
    write(repo / "budgets.yaml", budget())
    code, out, err = run("check", "budgets.yaml", "--missing-baseline", "pass")
    assert code == 0, err
    assert "mobilenet" in out and "classifier head" in out and "✓ pass" in out
    assert "headroom" in out and "convcost check passed" in out
    assert err == ""


def test_fail_says_model_metric_amount_and_line(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="568_740_351"))
    code, out, err = run("check", "budgets.yaml", "--missing-baseline", "pass")
    assert code == 1 and err == ""  # the table and its messages are the report, on stdout
    # exact integers where humanised forms would look equal
    assert "568,740,352" in out and "568,740,351" in out and "over by 1" in out
    assert ("✗ mobilenet: macs 568,740,352 exceeds max 568,740,351 by 1 (<0.01%); raise the "
            "limit at budgets.yaml:6") in out
    assert "✗ fail" in out and "exit 1" in out


def test_warn_level_passes_unless_fail_on_warn(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(head="1M"))
    code, out, _ = run("check", "budgets.yaml", "--missing-baseline", "pass")
    assert code == 0 and "▲ warn" in out and "budgets.yaml:11" in out
    code, _, _ = run("check", "budgets.yaml", "--missing-baseline", "pass", "--fail-on", "warn")
    assert code == 1


def test_fail_on_never(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="1M"))
    code, out, _ = run("check", "budgets.yaml", "--fail-on", "never")
    assert code == 0 and "✗ fail" in out


# ---------------------------------------------------------------- formats


def test_json_only_json_on_stdout(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="568_740_351"))
    code, out, err = run("check", "budgets.yaml", "-f", "json", "--missing-baseline", "pass")
    assert code == 1
    data = json.loads(out)
    assert data["schema"] == 1 and data["convention"]["flops"] == "2 x MACs"
    assert data["summary"] == {"checks": 3, "metrics": 4, "pass": 3, "warn": 0, "fail": 1,
                               "exit_code": 1}
    mob = data["checks"][0]
    assert mob["input_shape"] == [[1, 3, 224, 224]]
    macs = mob["metrics"][0]
    assert (macs["metric"], macs["value"], macs["max"], macs["headroom"]) == \
        ("macs", MACS, MACS - 1, -1)
    assert macs["status"] == "fail" and macs["max_where"]["line"] == 6
    assert mob["metrics"][1]["status"] == "pass"  # passes are listed too
    (v,) = data["violations"]
    assert v["excess"] == 1 and v["where"]["text"] == "budgets.yaml:6"
    assert "exceeds max" in err  # diagnostics on stderr


def test_markdown_stdout_and_file(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="500M"))
    code, out, _ = run("check", "budgets.yaml", "-f", "markdown", "--markdown", "report.md",
                       "--missing-baseline", "pass")
    assert code == 1
    assert out.startswith("### ✗ convcost check failed")
    assert "| check | metric | value | limit | baseline | Δ | Δ% | headroom | status |" in out
    assert "| mobilenet | macs | 568,740,352 | 500,000,000 |" in out
    assert "by 68,740,352 (13.75%); raise the limit at `budgets.yaml:6`" in out
    assert (repo / "report.md").read_text() == out


def test_junit_one_testcase_per_check_and_metric(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="500M", head="1M"))
    code, _, _ = run("check", "budgets.yaml", "--junit", "out/junit.xml",
                     "--missing-baseline", "pass")
    assert code == 1
    root = ET.parse(repo / "out" / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("mobilenet", "macs"), ("mobilenet", "params"), ("classifier head", "params"),
        ("vgg", "macs")]
    failed = [c for c in cases if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failed] == [("mobilenet", "macs")]
    assert root.get("tests") == "4" and root.get("failures") == "1"
    failure = failed[0].find("failure")
    assert failure is not None and "budgets.yaml:6" in (failure.get("message") or "")
    assert failed[0].get("file") == "budgets.yaml" and failed[0].get("line") == "6"
    # a warning is not a failure unless --fail-on warn
    run("check", "budgets.yaml", "--junit", "j2.xml", "--missing-baseline", "pass",
        "--fail-on", "warn")
    root = ET.parse(repo / "j2.xml").getroot()
    assert root.get("failures") == "2"


def test_github_annotations(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="500M", head="1M"))
    code, out, err = run("check", "budgets.yaml", "--missing-baseline", "pass",
                         env={"GITHUB_ACTIONS": "true"})
    assert code == 1
    lines = [x for x in err.splitlines() if x.startswith("::")]
    # the model is a local file: the annotation marks it, the message names the budget line
    assert lines[0].startswith("::error file=configs/mobilenet_v1.yaml,title=convcost check::"
                               "mobilenet: macs 568,740,352 exceeds max 500,000,000 (500M)")
    assert "raise the limit at budgets.yaml:6" in lines[0]
    assert lines[1].startswith("::warning file=configs/mobilenet_v1.yaml,")
    assert "budgets.yaml:11" in lines[1]
    assert "%25" in lines[0]  # '%' is escaped in workflow commands
    assert not any(x.startswith("::") for x in out.splitlines())
    _, _, err = run("check", "budgets.yaml", "--annotations", "none",
                    env={"GITHUB_ACTIONS": "true"})
    assert "::error" not in err
    _, _, err = run("check", "budgets.yaml", "--annotations", "github")
    assert "::error file=configs/mobilenet_v1.yaml" in err


# ---------------------------------------------------------------- baselines


def test_update_baseline_then_regression(repo: Path) -> None:
    write(repo / "budgets.yaml", budget())
    code, out, err = run("check", "budgets.yaml")
    assert code == 0 and "missing" in out and err == ""  # a missing baseline warns
    code, _, _ = run("check", "budgets.yaml", "--missing-baseline", "error")
    assert code == 1
    code, out, _ = run("check", "budgets.yaml", "--update-baseline")
    assert code == 0 and "wrote baseline .convcost/baseline.json" in out
    path = repo / ".convcost" / "baseline.json"
    text = path.read_text()
    assert text.endswith("\n") and f'"macs": {MACS}' in text
    data = json.loads(text)
    assert list(data) == sorted(data) and data["convention"]["name"] == "multiply-add"
    assert data["checks"]["mobilenet"]["input_shape"] == [[1, 3, 224, 224]]
    code, out, _ = run("check", "budgets.yaml", "--fail-on", "warn")
    assert code == 0, out
    run("check", "budgets.yaml", "--update-baseline")
    assert path.read_text() == text  # stable

    # the model grows 2%: over the allowed 1% increase, still under the 600M ceiling
    data["checks"]["mobilenet"]["counts"]["macs"] = MACS * 100 // 102
    data["checks"]["mobilenet"]["counts"]["params"] = PARAMS - 50_001
    path.write_text(json.dumps(data))
    code, out, _ = run("check", "budgets.yaml")
    assert code == 1
    assert "mobilenet: macs 568,740,352 is +11,151,772 (+2.00%) against the baseline" in out
    assert "over the allowed increase 1%" in out and "edit budgets.yaml:7" in out
    assert "params 4,231,976 is +50,001" in out and "over the allowed increase +50k" in out


@pytest.mark.parametrize(("change", "needle"), [
    ("version", "baseline written by convcost 0.0.1"),
    ("convention", "counting convention differs"),
    ("shape", "input shape 1×3×192×192 in the baseline"),
])
def test_incompatible_baselines(repo: Path, change: str, needle: str) -> None:
    write(repo / "budgets.yaml", budget())
    run("check", "budgets.yaml", "--update-baseline")
    path = repo / ".convcost" / "baseline.json"
    data = json.loads(path.read_text())
    data["checks"]["mobilenet"]["counts"]["macs"] = 1  # would be a huge regression
    if change == "version":
        data["convcost"] = "0.0.1"
    elif change == "convention":
        data["convention"]["flops"] = "3 x MACs"
    else:
        data["checks"]["mobilenet"]["input_shape"] = [[1, 3, 192, 192]]
    path.write_text(json.dumps(data))
    code, out, err = run("check", "budgets.yaml", "-f", "json")
    assert code == 0, err
    metrics = json.loads(out)["checks"][0]["metrics"]
    assert metrics[0]["baseline_state"] == "incompatible" and metrics[0]["status"] == "warn"
    assert needle in metrics[0]["baseline_reason"]
    assert "against the baseline" not in err and "incompatible" in err
    code, _, _ = run("check", "budgets.yaml", "--missing-baseline", "error")
    assert code == 1


def test_baseline_flag_overrides_and_update_needs_a_path(repo: Path) -> None:
    write(repo / "b.yaml", "checks:\n  - model: configs/vgg16.yaml\n    max_increase: "
                           "{macs: 0}\n")
    code, _, err = run("check", "b.yaml", "--update-baseline")
    assert code == 2 and "--baseline" in err
    code, _, _ = run("check", "b.yaml", "--baseline", "other.json", "--update-baseline")
    assert code == 0 and (repo / "other.json").exists()
    code, out, _ = run("check", "b.yaml", "--baseline", "other.json", "-f", "json")
    assert code == 0 and json.loads(out)["checks"][0]["metrics"][0]["baseline"] == VGG_MACS


def test_hints(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="1G"))
    code, out, _ = run("check", "budgets.yaml", "--missing-baseline", "pass")
    assert code == 0
    assert "hint: mobilenet: macs uses 57% of max 1G; tighten it (e.g. to 598M) at " \
           "budgets.yaml:6" in out


# ---------------------------------------------------------------- inline


def test_inline_max(repo: Path) -> None:
    code, out, err = run("check", "configs/mobilenet_v1.yaml", "--max", "macs=600M",
                         "--max", "params=4.5M")
    assert code == 0, err
    assert "568.74 M" in out and "✓ pass" in out
    code, out, err = run("check", "configs/mobilenet_v1.yaml", "--max", "macs=500M", "-f",
                         "json")
    assert code == 1
    (v,) = json.loads(out)["violations"]
    assert v["where"]["text"] == "--max macs=500M"
    assert "raise the limit at --max macs=500M" in err


@pytest.mark.parametrize(("args", "needle"), [
    (["--max", "macs"], "--max macs: 'macs': write METRIC=VALUE"),
    (["--max", "mac=1M"], "unknown metric 'mac'"),
    (["--max", "macs=12 parsecs"], "unknown unit 'parsecs'"),
    (["--max", "macs=1M", "--max", "macs=2M"], "given twice"),
    ([], "nothing to check"),
    (["--max", "macs=1M", "--input", "1,3,8,8"], "carries its own input shape"),
])
def test_inline_errors(repo: Path, args: list[str], needle: str) -> None:
    code, out, err = run("check", "configs/mobilenet_v1.yaml", *args)
    assert code == 2 and out == "" and needle in err and len(err.splitlines()) == 1


def test_budget_file_refuses_inline_flags(repo: Path) -> None:
    write(repo / "budgets.yaml", budget())
    code, _, err = run("check", "budgets.yaml", "--max", "macs=1M")
    assert code == 2 and "--max" in err and "budget file" in err


# ---------------------------------------------------------------- torch sources


NET = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))

def broken():
    raise RuntimeError("boom")
"""


def test_torch_source_with_input_and_kwargs(repo: Path) -> None:
    (repo / "models").mkdir()
    (repo / "models" / "net.py").write_text(NET)
    # model paths are relative to the budget file's directory
    write(repo / "models" / "budgets.yaml", """checks:
  - name: net
    model: net.py:Net
    input: [1, 3, 16, 16]
    kwargs: {width: 4}
    max: {macs: 30k, params: 160}
  - name: broken
    model: net.py:broken
    input: "1,3,16,16"
    max: {macs: 1}
""")
    code, out, err = run("check", "models/budgets.yaml", "-f", "json")
    assert code == 3 and out == ""  # the model could not be analysed
    assert "boom" in err and len(err.splitlines()) == 1
    text = (repo / "models" / "budgets.yaml").read_text()
    write(repo / "models" / "budgets.yaml", text[:text.index("  - name: broken")])
    code, out, err = run("check", "models/budgets.yaml", "-f", "json")
    assert code == 0, err
    metrics = json.loads(out)["checks"][0]["metrics"]
    # conv 3->4, 3x3 over 16x16: 4*16*16*27 = 27,648 MACs; fc 4->10: 40 MACs
    assert [m["value"] for m in metrics] == [4 * 16 * 16 * 27 + 40, 108 + 40 + 10]


# ---------------------------------------------------------------- malformed budget files


M = "configs/mobilenet_v1.yaml"
MALFORMED = [
    # (name, text, line, needle)
    ("unknown top key", f"version: 1\nchecks:\n  - model: {M}\n    max: {{macs: 1G}}\n"
     "baselines: x\n", 5, "unknown key 'baselines'; did you mean 'baseline'?"),
    ("unknown check key", f"checks:\n  - model: {M}\n    maxx: {{macs: 1G}}\n", 3,
     "unknown key 'maxx'"),
    ("unknown metric", f"checks:\n  - model: {M}\n    max: {{macs: 1G, flopz: 1G}}\n", 3,
     "checks[0].max.flopz: unknown metric 'flopz'"),
    ("bad unit", f"checks:\n  - model: {M}\n    max:\n      macs: 12 parsecs\n", 4,
     "checks[0].max.macs: unknown unit 'parsecs'"),
    ("percent in max", f"checks:\n  - model: {M}\n    max: {{macs: 1%}}\n", 3,
     "put it under max_increase"),
    ("signed in max", f"checks:\n  - model: {M}\n    max: {{macs: +5M}}\n", 3,
     "put it under max_increase"),
    ("bytes unit on a count", f"checks:\n  - model: {M}\n    max: {{macs: 5MB}}\n", 3,
     "unit of bytes"),
    ("not whole", f"checks:\n  - model: {M}\n    max: {{params: 1.5}}\n", 3,
     "not a whole number"),
    ("boolean", f"checks:\n  - model: {M}\n    max: {{params: yes}}\n", 3, "boolean"),
    ("max not a mapping", f"checks:\n  - model: {M}\n    max: 600M\n", 3,
     "expected a mapping of metric: value"),
    ("empty max", f"checks:\n  - model: {M}\n    max: {{}}\n", 3, "empty"),
    ("nothing limited", f"checks:\n  - name: x\n    model: {M}\n", 2, "limits nothing"),
    ("bad level", f"checks:\n  - model: {M}\n    max: {{macs: 1G}}\n    level: fatal\n", 4,
     "expected 'error' or 'warn'"),
    ("bad version", f"version: 2\nchecks:\n  - model: {M}\n    max: {{macs: 1G}}\n", 1,
     "unsupported version 2"),
    ("empty checks", "version: 1\nchecks: []\n", 2, "non-empty list"),
    ("checks not a list", "version: 1\nchecks: {a: 1}\n", 2, "non-empty list"),
    ("no checks", "version: 1\n", 1, "missing key 'checks'"),
    ("no model", "checks:\n  - max: {macs: 1G}\n", 2, "missing key 'model'"),
    ("missing model file", "checks:\n  - model: configs/nope.yaml\n    max: {macs: 1G}\n", 2,
     "no such file 'configs/nope.yaml'"),
    ("torch without input", "checks:\n  - model: torchvision.models:resnet18\n"
     "    max: {macs: 1G}\n", 2, "needs an input shape"),
    ("yaml with input", f"checks:\n  - model: {M}\n    input: [1, 3, 8, 8]\n"
     "    max: {macs: 1G}\n", 3, "carries its own input shape"),
    ("bad input", "checks:\n  - model: torchvision.models:resnet18\n    input: [1, -3]\n"
     "    max: {macs: 1G}\n", 3, "sizes >= 1"),
    ("kwargs not a mapping", "checks:\n  - model: torchvision.models:resnet18\n"
     "    input: [1, 3, 8, 8]\n    kwargs: [1]\n    max: {macs: 1G}\n", 4, "expected a mapping"),
    ("duplicate names", f"checks:\n  - name: a\n    model: {M}\n    max: {{macs: 1G}}\n"
     f"  - name: a\n    model: {M}\n    max: {{macs: 1G}}\n", 5, "duplicate check name 'a'"),
    ("duplicate key", f"checks:\n  - model: {M}\n    max: {{macs: 1G}}\n    max: {{macs: 2G}}\n",
     4, "duplicate key 'max'"),
    ("syntax error", f"checks:\n  - model: {M}\n    max: {{macs: 1G\n", 4, "YAML syntax error"),
    ("scope matching nothing", f"checks:\n  - model: {M}\n    scope: 'head*'\n"
     "    max: {macs: 1G}\n", 3, "scope 'head*' matches no layer"),
    ("bad baseline", f"baseline: b.json\nchecks:\n  - model: {M}\n    max_increase: {{macs: 1%}}\n",
     None, "b.json:3: bad baseline: not JSON"),
]


@pytest.mark.parametrize(("text", "line", "needle"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_budget_files(repo: Path, text: str, line: int | None, needle: str) -> None:
    write(repo / "budgets.yaml", text)
    (repo / "b.json").write_text('{\n  "schema": 1,\n')
    code, out, err = run("check", "budgets.yaml")
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("convcost: error: ")
    if line is not None:
        assert re.search(rf"budgets\.yaml:{line}:\d+: ", err), err
    assert needle in err, err


def test_missing_budget_file(repo: Path) -> None:
    code, out, err = run("check", "nope.yaml")
    assert (code, out) == (2, "") and "nope.yaml: no such file" in err


def test_exact_integers_when_rounding_would_make_them_equal(repo: Path) -> None:
    write(repo / "budgets.yaml", budget(macs="568_740_353"))  # passes with 1 MAC to spare
    code, out, _ = run("check", "budgets.yaml", "--missing-baseline", "pass")
    assert code == 0
    assert "568,740,352" in out and "568,740,353" in out and "1 (<0.01%)" in out
    assert "4.23 M" in out  # other rows stay humanised


def test_yaml_budget_never_imports_torch() -> None:
    import subprocess
    import sys

    code = ("import sys; from typer.testing import CliRunner; from convcost.cli.app import app; "
            f"r = CliRunner().invoke(app, ['check', {str(ROOT / 'budgets.yaml')!r}]); "
            "print(r.exit_code, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["0", "False"]
