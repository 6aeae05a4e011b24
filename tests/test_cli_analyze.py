"""`convcost analyze` and `convcost sweep` on the shipped configs: the paper's tables."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
MOBILENET = str(ROOT / "configs" / "mobilenet_v1.yaml")
CONFIGS = sorted(str(p) for p in (ROOT / "configs").glob("*.yaml"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def analyze_json(*args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run("analyze", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def mobilenet() -> dict:  # type: ignore[type-arg]
    return analyze_json(MOBILENET)


def test_paper_totals_table4_and_table6(mobilenet: dict) -> None:  # type: ignore[type-arg]
    t = mobilenet["totals"]
    assert t["macs"] == 568_740_352 and round(t["macs"] / 1e6) == 569
    assert t["weights"] == 4_209_088 and round(t["weights"] / 1e6, 1) == 4.2
    assert t["flops"] == 2 * t["macs"]
    assert mobilenet["schema"] == 1 and mobilenet["model"]
    assert mobilenet["input_shape"] == [1, 3, 224, 224]


def test_rows_add_up_to_totals(mobilenet: dict) -> None:  # type: ignore[type-arg]
    layers, t = mobilenet["layers"], mobilenet["totals"]
    for key in ("macs", "params", "weights", "other_ops", "bytes", "flops"):
        assert sum(layer[key] for layer in layers) == t[key], key
    assert t["params"] == t["weights"] + t["bias"] + t["affine"] + t["free"]


def test_breakdown_is_the_papers_table2(mobilenet: dict) -> None:  # type: ignore[type-arg]
    rows = {b["group"]: b for b in mobilenet["breakdown"]}
    # Table 2 prints Conv 1×1 94.86% / 74.59%, Conv DW 3×3 3.06% / 1.06%, FC 0.18% / 24.33%
    assert round(rows["Conv 1×1"]["macs_pct"], 2) == 94.86
    assert round(rows["Conv 1×1"]["weights_pct"], 2) == 74.59
    assert round(rows["Conv DW 3×3"]["macs_pct"], 2) == 3.06
    assert round(rows["Conv DW 3×3"]["weights_pct"], 2) == 1.06
    assert round(rows["Fully connected"]["macs_pct"], 2) == 0.18
    assert round(rows["Fully connected"]["weights_pct"], 2) == 24.33
    # the paper prints 1.19% for Conv 3×3, but its rows then sum to 99.29%: 3·32·9·112² MACs
    # are 1.91% of the total, and the four rows sum to 100% only with 1.91
    assert rows["Conv 3×3"]["macs"] == 3 * 32 * 9 * 112 * 112
    assert round(rows["Conv 3×3"]["macs_pct"], 2) == 1.91
    assert sum(b["macs"] for b in mobilenet["breakdown"]) == mobilenet["totals"]["macs"]


def test_conv_mobilenet_alternative_table4(mobilenet: dict) -> None:  # type: ignore[type-arg]
    std = mobilenet["variants"]["standard"]
    assert round(std["macs"] / 1e6) in (4866, 4867)  # paper: 4866
    assert round(std["weights"] / 1e6, 1) == 29.3
    assert mobilenet["variants"]["as_written"]["macs"] == mobilenet["totals"]["macs"]
    # every separable pair names its standard alternative: 13 pairs
    pairs = [x for x in mobilenet["layers"] if x["alternative"] and
             x["alternative"]["kind"] == "standard"]
    assert len(pairs) == 13
    # Table 3's layer: 14×14×512 -> 512 pair, standard alternative 462,422,016 MACs
    assert any(x["alternative"]["macs"] == 462_422_016 for x in pairs)


def test_as_standard_rewrites_totals() -> None:
    data = analyze_json(MOBILENET, "--as", "standard", "--no-reference")
    assert data["rewritten_as"] == "standard"
    assert data["totals"]["macs"] == data["variants"]["standard"]["macs"]
    assert round(data["totals"]["weights"] / 1e6, 1) == 29.3
    assert sum(x["macs"] for x in data["layers"]) == data["totals"]["macs"]


def test_as_separable_rewrites_the_first_conv() -> None:
    data = analyze_json(MOBILENET, "--as", "separable", "--no-reference")
    first = 3 * 32 * 9 * 112 * 112
    separable_first = 3 * 9 * 112 * 112 + 3 * 32 * 112 * 112
    assert data["totals"]["macs"] == 568_740_352 - first + separable_first


def test_fvcore_reference_agrees_on_macs(mobilenet: dict) -> None:  # type: ignore[type-arg]
    ref = mobilenet["reference"]["fvcore"]
    conv_linear = sum(v for k, v in ref["by_operator"].items() if k in ("conv", "linear"))
    assert conv_linear == mobilenet["totals"]["macs"]
    assert ref["status"] == "explained"
    assert "batch_norm" in ref["reason"]
    # fvcore counts batch-norm as 2 ops per element at inference, like our other ops
    bn_other = sum(x["other_ops"] for x in mobilenet["layers"] if x["kind"] == "bn")
    assert ref["by_operator"]["batch_norm"] == bn_other
    for layer in mobilenet["layers"]:
        if layer["kind"].startswith(("conv", "dw", "pw", "fc")):
            assert layer["reference"]["fvcore"]["macs"] == layer["macs"], layer["name"]
        if layer["kind"] == "bn":  # every difference names its reason
            ref = layer["reference"]["fvcore"]
            assert ref["status"] == "explained" and "batch_norm" in ref["reason"]
            assert ref["macs"] == layer["other_ops"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: Path(p).stem)
def test_every_config_analyses_with_and_without_reference(config: str) -> None:
    with_ref = analyze_json(config)
    without = analyze_json(config, "--no-reference")
    assert with_ref["totals"] == without["totals"]
    ref = with_ref["reference"]["fvcore"]
    macs_ops = sum(v for k, v in ref["by_operator"].items()
                   if k in ("conv", "linear", "addmm", "matmul"))
    assert macs_ops == with_ref["totals"]["macs"]
    assert ref["status"] in ("agree", "explained")


def test_depth_collapses_blocks_and_keeps_totals(mobilenet: dict) -> None:  # type: ignore[type-arg]
    data = analyze_json(MOBILENET, "--depth", "1", "--no-reference")
    assert len(data["layers"]) < len(mobilenet["layers"])
    assert sum(x["macs"] for x in data["layers"]) == data["totals"]["macs"]


def test_table_csv_markdown() -> None:
    code, out, err = run("analyze", MOBILENET, "--no-reference")
    assert code == 0, err
    assert "568,740,352" in out and "Breakdown" in out and "4,867,293,184" in out
    assert "Conv 1×1" in out and "94.86%" in out
    assert "multiply-adds" in out  # the convention footer
    code, out, _ = run("analyze", MOBILENET, "--no-reference", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[-1]["name"] == "total" and int(rows[-1]["macs"]) == 568_740_352
    assert sum(int(r["macs"]) for r in rows[:-1]) == 568_740_352
    code, out, _ = run("analyze", MOBILENET, "--no-reference", "-f", "markdown")
    assert code == 0 and "| layer |" in out and "**568,740,352**" in out


@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_export(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"report{suffix}"
    code, _, err = run("analyze", MOBILENET, "--no-reference", "--export", str(target))
    assert code == 0, err
    text = target.read_text()
    assert "568,740,352" in text or "568,740,352".replace(",", "&#44;") in text
    assert ("<svg" in text) if suffix == ".svg" else ("<html" in text.lower())


def test_sweep_reproduces_tables_6_and_7() -> None:
    code, out, err = run("sweep", MOBILENET, "--width-mult", "1,0.75,0.5,0.25",
                         "--resolution", "224,192,160,128", "-f", "json")
    assert code == 0, err
    grid = {(p["width_mult"], p["resolution"]): p for p in json.loads(out)["grid"]}
    # Table 6 (224): 569, 325, 149, 41 million mult-adds; 4.2, 2.6, 1.3, 0.5 million params
    for alpha, macs, params in ((1, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3),
                                (0.25, 41, 0.5)):
        p = grid[(alpha, 224)]
        assert round(p["macs"] / 1e6) == macs
        assert round(p["weights"] / 1e6, 1) == params
    # Table 7 (α = 1): 569, 418, 290, 186 million mult-adds (the paper rounds 290.7 down)
    for res, macs in ((224, 569), (192, 418), (160, 290), (128, 186)):
        assert abs(grid[(1.0, res)]["macs"] / 1e6 - macs) < 1
    for fmt in ("table", "csv", "markdown"):
        code, out, _ = run("sweep", MOBILENET, "-a", "1,0.5", "-r", "224,128", "-f", fmt)
        assert code == 0 and out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["analyze", "missing.yaml"], "no such file"),
        (["analyze", MOBILENET, "--as", "wide"], "--as"),
        (["analyze", MOBILENET, "--depth", "0"], "--depth"),
        (["analyze", MOBILENET, "--reference", "ptflops"], "--reference"),
        (["analyze", MOBILENET, "--export", "out.pdf"], "--export"),
        (["analyze", MOBILENET, "--width-mult", "-1"], "--width-mult"),
        (["analyze", MOBILENET, "--resolution", "0"], "--resolution"),
        (["sweep", MOBILENET, "--width-mult", "1,x"], "--width-mult"),
        (["sweep", MOBILENET, "--resolution", "224,-3"], "--resolution"),
    ],
)
def test_bad_input_one_line_exit_2(args: list[str], needle: str) -> None:
    code, out, err = run(*args)
    assert code == 2, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err


@pytest.mark.parametrize("source", ["missing.yaml", "missing.onnx", "missing.py:Net",
                                    "missing.pt2", "missing.ts"])
def test_a_missing_file_is_named_once(source: str) -> None:
    extra = [] if source.endswith((".yaml", ".onnx")) else ["--input", "1,3,8,8"]
    code, out, err = run("analyze", source, *extra)
    name = source.partition(":")[0]
    assert (code, out) == (2, "")
    assert err.strip() == f"convcost: error: {name}: no such file", err


def test_yaml_path_without_reference_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from convcost.cli.app import app\n"
        f"r = CliRunner().invoke(app, ['analyze', {MOBILENET!r}, '--no-reference', '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['sweep', " + repr(MOBILENET) + ", '-a', '1,0.5'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('torch' in sys.modules, 'fvcore' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_python_api() -> None:
    import convcost

    report = convcost.analyze(MOBILENET)
    assert report.totals.macs == 568_740_352
    assert len(report.layers) > 20
    assert json.loads(report.to_json())["totals"]["macs"] == 568_740_352
    assert report.to_dict()["schema"] == 1
    assert "568,740,352" in report._repr_html_()
