"""Reports that look like reports: the HTML page (checked in headless Chromium when it is
installed), the SVG export, the notebook display, str/repr, --top, and exact numbers at 80
columns."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convcost
from convcost.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
MOBILENET = str(ROOT / "configs" / "mobilenet_v1.yaml")
MACS, PARAMS = 568_740_352, 4_231_976


def run(*args: str, columns: int = 200) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def headless(*args: str) -> subprocess.CompletedProcess[str]:
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium (apt-get install chromium)")
    profile = tempfile.mkdtemp()
    try:
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# ---------------------------------------------------------------- HTML


@pytest.fixture(scope="module")
def html_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    code, _, err = run("analyze", MOBILENET, "--export", str(path))
    assert code == 0, err
    return path


def test_html_is_a_self_contained_page(html_page: Path) -> None:
    text = html_page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>convcost: MobileNetV1</title>" in text
    assert "<pre" not in text  # real tables, not a terminal dump
    assert not re.search(r"""(src|href)=["']?https?:""", text)  # nothing fetched
    assert "<script" not in text


def test_html_in_headless_chromium(html_page: Path, tmp_path: Path) -> None:
    done = headless("--dump-dom", html_page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<title>convcost: MobileNetV1</title>" in dom
    assert re.search(r"<h1>convcost: MobileNetV1</h1>", dom)
    for heading in ("Summary", "Layers", "Breakdown by layer type", "The whole model in each form",
                    "Reference agreement"):
        assert f"<h2>{heading}" in dom
    layers = re.search(r'<table class="layers">(.*?)</table>', dom, re.S)
    assert layers is not None
    body = re.search(r"<tbody>(.*?)</tbody>", layers.group(1), re.S)
    assert body is not None
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    report = convcost.analyze(MOBILENET)
    assert len(rows) == len(report.layers)  # every layer
    # each row's MACs, and the rows add up to the total shown in the footer
    macs = [int(re.findall(r'<td class="num">([\d,]+)</td>', r)[2].replace(",", ""))
            for r in rows]
    assert macs == [row.cost.macs for row in report.layers]
    assert sum(macs) == MACS and f"{MACS:,}" in layers.group(1).split("<tfoot>")[1]
    assert dom.count('class="bar"') >= len(rows)  # share bars
    assert "94.86%" in dom and "Conv 1×1" in dom  # the paper's Table 2
    assert "4,867,293,184" in dom  # the all-standard variant (Table 4)
    assert "fvcore" in dom and "Counting convention" in dom
    shot = tmp_path / "shot.png"
    done = headless("--window-size=1280,2000", f"--screenshot={shot}", html_page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000, done.stderr[-2000:]


def test_svg_is_light_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "report.svg"
    code, _, err = run("analyze", MOBILENET, "--no-reference", "--export", str(path))
    assert code == 0, err
    text = path.read_text(encoding="utf-8")
    view = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', text)
    assert view is not None and float(view.group(1)) <= 1300
    assert "#ffffff" in text.lower()  # a light background
    assert "568,740,352" in text


# ---------------------------------------------------------------- notebook, str, repr


def test_notebook_shows_the_report_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("IPython")
    import rich.console
    import rich.jupyter
    from IPython.core.interactiveshell import InteractiveShell

    displayed: list[object] = []
    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)  # as inside Jupyter
    monkeypatch.setattr(rich.jupyter, "display", lambda *a, **k: displayed.append(a))
    report = convcost.analyze(MOBILENET)
    data, _ = InteractiveShell.instance().display_formatter.format(report)
    assert displayed == []  # rendering the HTML displays nothing by itself
    assert set(data) == {"text/plain", "text/html"}
    assert "<table" in data["text/html"] and "<pre" not in data["text/html"]
    assert len(data["text/plain"]) < 300


def test_str_and_repr_are_short() -> None:
    report = convcost.analyze(MOBILENET)
    assert str(report) == (f"MobileNetV1: {MACS:,} MACs, {PARAMS:,} params, 138,662,380 bytes, "
                           "85 layers, input 1×3×224×224")
    assert repr(report).startswith("<ModelReport MobileNetV1:") and len(repr(report)) < 200


# ---------------------------------------------------------------- --top


def test_top_layers_and_shares() -> None:
    code, out, err = run("analyze", MOBILENET, "--no-reference", "--top", "3", "--sort",
                         "params", "--format", "json")
    assert code == 0, err
    top = json.loads(out)["top"]
    report = convcost.analyze(MOBILENET)
    expected = sorted(report.layers, key=lambda r: -r.cost.params)[:3]
    assert [x["name"] for x in top["layers"]] == [r.name for r in expected]
    assert top["layers"][0]["name"] == "sep9.pw" and top["layers"][0]["value"] == 1024 * 1024
    assert top["layers"][1]["name"] == "fc" and top["layers"][1]["value"] == 1024 * 1000 + 1000
    assert top["layers"][0]["share_pct"] == pytest.approx(100 * 1024 * 1024 / PARAMS)
    assert top["layers"][-1]["cumulative_pct"] == pytest.approx(
        100 * sum(r.cost.params for r in expected) / PARAMS)
    code, out, _ = run("analyze", MOBILENET, "--no-reference", "--top", "2", columns=80)
    assert code == 0 and "The 2 costliest layers by MACs" in out and "51,380,224" in out
    code, out, _ = run("analyze", MOBILENET, "--no-reference", "--top", "2", "--depth", "1")
    assert code == 0 and "costliest blocks" in out
    code, _, err = run("analyze", MOBILENET, "--top", "2", "--sort", "flops")
    assert code == 2 and "--sort" in err


# ---------------------------------------------------------------- exact numbers at 80 columns


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d{1,3}(?:,\d{3})+", text))


def test_compare_keeps_exact_numbers_at_80_columns() -> None:
    code, out, _ = run("compare", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14",
                       "--no-reference", columns=80)
    assert code == 0
    assert "462,422,016" in out and "52,283,392" in out and "2,359,296" in out
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("columns", [80, 100])
def test_analyze_tables_keep_exact_numbers(columns: int) -> None:
    code, out, _ = run("analyze", MOBILENET, "--no-reference", columns=columns)
    assert code == 0
    assert "…" not in out
    data = json.loads(run("analyze", MOBILENET, "--no-reference", "--format", "json")[1])
    for b in data["breakdown"]:
        assert f"{b['macs']:,}" in out
    for v in data["variants"].values():
        assert f"{v['macs']:,}" in out and f"{v['weights']:,}" in out


def test_diff_keeps_exact_numbers_at_80_columns(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    try:
        code, out, _ = run("diff", MOBILENET, str(ROOT / "configs" / "mobilenet_v2.yaml"),
                           columns=80)
    finally:
        os.chdir(ROOT)
    assert code == 0 and "-267,966,080" in out and "…" not in out
