"""The benchmark harness: its smoke mode runs and writes valid JSON; its helpers are sound."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import run as bench  # noqa: E402


def test_scale_yaml_has_ten_layers_per_block(tmp_path: Path) -> None:
    from convcost.frontends.yaml_records import records_from_spec
    from convcost.frontends.yaml_spec import load_spec

    path = tmp_path / "s.yaml"
    path.write_text(bench.scale_yaml(7))
    assert len(records_from_spec(load_spec(str(path)))) == 70


def test_stat_median_min_max() -> None:
    s = bench.Stat.of([3.0, 1.0, 2.0])
    assert s is not None and (s.median, s.min, s.max, s.runs) == (2.0, 1.0, 3.0, 3)
    assert bench.Stat.of([]) is None


def test_targets_mark_met_and_missed() -> None:
    def case(name: str, wall: float, rss: float = 100.0, inner: float | None = None,
             **payload: object) -> bench.Case:
        c = bench.Case(name, "g", name, [], 1)
        c.wall_s, c.rss_mib = bench.Stat.of([wall]), bench.Stat.of([rss])
        c.inner_s = bench.Stat.of([inner]) if inner is not None else None
        c.payload = dict(payload)
        return c

    cases = {c.name: c for c in [
        case("import_torch", 4.0), case("cc_yaml", 0.5),
        case("cc_yaml_inproc", 0.5, torch_imported=False),
        case("resnet50_convcost", 5, inner=1.0), case("resnet50_fvcore", 6, 900, inner=1.5),
        case("resnet50_cli", 5, 800), case("llm_cli", 9, 2000),
    ]}
    got = {t.name: t.met for t in bench.targets(cases, [])}
    assert got == {"yaml-startup": True, "resnet50-inproc": False, "resnet50-process": True,
                   "llm-7b": False}


def test_smoke_run_writes_valid_json(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--quiet",
         "--only", "startup,scale", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == 1 and data["mode"] == "smoke"
    assert {"cpu", "cores", "ram_gib", "python", "versions"} <= set(data["machine"])
    cases = data["cases"]
    assert cases["cc_compare"]["ok"] and cases["cc_compare"]["wall_s"]["median"] > 0
    assert cases["cc_yaml_inproc"]["payload"]["torch_imported"] is False
    assert [r["layers"] for r in data["scale"]] == [100, 1000]
    for row in data["scale"]:
        assert row["inner_s"] > 0 and row["rss_mib"] > 0
    assert isinstance(data["targets"], list) and isinstance(data["ratios"], list)


def test_issue_12_targets_cover_the_api_bombs_big_tables_and_depth() -> None:
    def case(name: str, wall: float, cpu: float, inner: float | None = None) -> bench.Case:
        c = bench.Case(name, "g", name, [], 1)
        c.wall_s, c.cpu_s = bench.Stat.of([wall]), bench.Stat.of([cpu])
        c.inner_s = bench.Stat.of([inner]) if inner is not None else None
        return c

    cases = {c.name: c for c in [
        case("api_10000", 1.0, 1.0, inner=0.9), case("scale_10000", 1.0, 1.0, inner=0.8),
        case("api_100000", 9.0, 9.0, inner=9.0), case("scale_100000", 8.0, 8.0, inner=7.0),
        case("bomb_alias", 0.4, 0.4), case("bomb_merge", 1.5, 1.4),
        case("fmt_table_100000", 19.0, 10.0), case("depth2_2000", 0.5, 0.3),
        case("depth2_20000", 2.5, 2.4),
    ]}
    got = {t.name: t.met for t in bench.speed_targets(cases)}
    assert got == {"table-100k": True, "depth2-20k": True, "linear-depth2": True,
                   "api-10k": True, "api-100k": False, "bomb-alias": True,
                   "bomb-merge": False}
