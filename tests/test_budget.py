"""Budget library: strict units, the budget file loader, scopes, baselines and the pure check."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from convcost.budget.baseline import baseline_text, parse_baseline
from convcost.budget.check import (
    BaselineState,
    CheckStatus,
    LimitKind,
    Outcome,
    evaluate,
)
from convcost.budget.measure import Measured, in_scope, measure
from convcost.budget.policy import FailOn, Policy
from convcost.budget.spec import Budget, load_budget
from convcost.budget.units import Form, Metric, UnitError, parse_amount, suggest
from convcost.core.convention import CONVENTION
from convcost.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
MOBILENET = str(ROOT / "configs" / "mobilenet_v1.yaml")
MACS, PARAMS = 568_740_352, 4_231_976
VERSION = "0.1.0"


# ---------------------------------------------------------------- units


@pytest.mark.parametrize(("raw", "metric", "expected"), [
    ("600M", Metric.MACS, 600_000_000),
    ("4.5M", Metric.PARAMS, 4_500_000),
    ("1.1 G", Metric.FLOPS, 1_100_000_000),
    ("50k", Metric.PARAMS, 50_000),
    ("2T", Metric.MACS, 2 * 10**12),
    ("600000000", Metric.MACS, 600_000_000),
    ("600,000,001", Metric.MACS, 600_000_001),
    (600_000_000, Metric.MACS, 600_000_000),
    (1.5e9, Metric.MACS, 1_500_000_000),  # a YAML float is a number
    ("130MB", Metric.BYTES, 130_000_000),
    ("130MiB", Metric.BYTES, 130 * 2**20),
    ("1KiB", Metric.BYTES, 1024),
    ("2kB", Metric.BYTES, 2000),
    ("512B", Metric.BYTES, 512),
])
def test_absolute_values(raw: object, metric: Metric, expected: int) -> None:
    amount = parse_amount(raw, metric, increase=False)
    assert amount.form is Form.ABSOLUTE and amount.count() == expected


@pytest.mark.parametrize(("raw", "form", "value"), [
    ("1%", Form.PERCENT, Fraction(1)),
    ("0.5%", Form.PERCENT, Fraction(1, 2)),
    ("-2%", Form.PERCENT, Fraction(-2)),
    ("+50k", Form.DELTA, Fraction(50_000)),
    ("50k", Form.DELTA, Fraction(50_000)),
    ("-10k", Form.DELTA, Fraction(-10_000)),
    (0, Form.DELTA, Fraction(0)),
])
def test_increase_values(raw: object, form: Form, value: Fraction) -> None:
    amount = parse_amount(raw, Metric.PARAMS, increase=True)
    assert (amount.form, amount.value) == (form, value)


@pytest.mark.parametrize(("raw", "metric", "increase", "needle"), [
    ("12 parsecs", Metric.MACS, False, "unknown unit 'parsecs'"),
    ("600m", Metric.MACS, False, "milli"),
    ("600MB", Metric.MACS, False, "unit of bytes"),
    ("1%", Metric.MACS, False, "max_increase"),
    ("+5M", Metric.MACS, False, "max_increase"),
    ("1.5", Metric.PARAMS, False, "not a whole number"),
    ("1.2345678M", Metric.PARAMS, False, "not a whole number"),
    (True, Metric.MACS, False, "boolean"),
    (None, Metric.MACS, False, "null"),
    (float("inf"), Metric.MACS, False, "finite"),
    ("M", Metric.MACS, False, "not a number"),
    ("-100%", Metric.MACS, True, "leaves nothing"),
    ("1e3e3", Metric.MACS, False, "not a number"),
])
def test_bad_values(raw: object, metric: Metric, increase: bool, needle: str) -> None:
    with pytest.raises(UnitError, match=needle):
        parse_amount(raw, metric, increase=increase)


def test_suggest_rounds_up_a_little() -> None:
    assert suggest(MACS, Metric.MACS) == "598M"
    assert suggest(4_231_976, Metric.PARAMS) == "4.45M"
    assert suggest(138_662_380, Metric.BYTES) == "146MB"


# ---------------------------------------------------------------- scopes


@pytest.mark.parametrize(("name", "pattern", "hit"), [
    ("fc", "fc*", True),
    ("sep1.dw", "sep1", True),
    ("sep1.dw", "*.dw", True),
    ("sep10.dw", "sep1", False),
    ("layer4.blocks.0.conv1", "layer4.blocks", True),
    ("conv1.conv", "FC*", False),
])
def test_scope_globs(name: str, pattern: str, hit: bool) -> None:
    assert in_scope(name, pattern) is hit


def _budget(tmp_path: Path, body: str) -> Budget:
    path = tmp_path / "budgets.yaml"
    path.write_text(body)
    return load_budget(str(path))


def test_scope_sums_matching_rows(tmp_path: Path) -> None:
    budget = _budget(tmp_path, f"""checks:
  - name: head
    model: {MOBILENET}
    scope: "fc*"
    max: {{params: 1.1M}}
  - name: depthwise
    model: {MOBILENET}
    scope: "*.dw"
    max: {{macs: 20M}}
  - name: all
    model: {MOBILENET}
    max: {{macs: 600M}}
""")
    calls: list[str] = []

    def analyse(check: object) -> object:
        from convcost.pipeline.run import analyze_check

        calls.append(check.name)  # type: ignore[attr-defined]
        return analyze_check(check)  # type: ignore[arg-type]

    got = measure(budget, analyse)  # type: ignore[arg-type]
    assert len(calls) == 1  # one analysis per distinct model
    assert got["head"].counts[Metric.PARAMS] == 1024 * 1000 + 1000
    assert got["head"].rows == 1
    dw = got["depthwise"].counts[Metric.MACS]
    assert dw == 17_385_984 and round(100 * dw / MACS, 2) == 3.06  # the paper's Table 2
    assert got["all"].counts[Metric.MACS] == MACS


def test_scope_matching_nothing_is_a_bad_budget(tmp_path: Path) -> None:
    budget = _budget(tmp_path, f"checks:\n  - model: {MOBILENET}\n    scope: 'head*'\n"
                               "    max: {params: 1M}\n")
    with pytest.raises(InputError) as info:
        from convcost.pipeline.run import analyze_check

        measure(budget, analyze_check)
    assert "budgets.yaml:3:12" in str(info.value) and "matches no layer" in str(info.value)


# ---------------------------------------------------------------- the check, pure


def _measured(macs: int = MACS, params: int = PARAMS,
              shape: tuple[int, ...] = (1, 3, 224, 224)) -> Measured:
    counts = {m: 0 for m in Metric}
    counts.update({Metric.MACS: macs, Metric.PARAMS: params, Metric.FLOPS: 2 * macs})
    return Measured(counts, (shape,), "MobileNetV1")


def _evaluate(budget: Budget, measured: Measured, baseline_text_: str | None = None,
              policy: Policy = Policy.WARN) -> Outcome:
    baseline = parse_baseline(baseline_text_, "b.json") if baseline_text_ else None
    return evaluate(budget, {c.name: measured for c in budget.checks}, baseline,
                    baseline_path="b.json", version=VERSION, convention=CONVENTION.to_dict(),
                    policy=policy)


def _base(budget: Budget, measured: Measured, version: str = VERSION) -> str:
    return baseline_text(budget, {c.name: measured for c in budget.checks}, version=version,
                         convention=CONVENTION.to_dict())


def test_absolute_limit_pass_and_fail(tmp_path: Path) -> None:
    budget = _budget(tmp_path, f"checks:\n  - name: m\n    model: {MOBILENET}\n"
                               "    max: {macs: 600M}\n")
    ok = _evaluate(budget, _measured(600_000_000))
    assert ok.exit_code(FailOn.ERROR) == 0 and ok.violations == ()
    bad = _evaluate(budget, _measured(600_000_001))
    (v,) = bad.violations
    assert (v.status, v.kind, v.excess, v.limit) == (
        CheckStatus.FAIL, LimitKind.MAX, 1, 600_000_000
    )
    assert "600,000,001 exceeds max 600,000,000 (600M) by 1" in v.message
    assert "budgets.yaml:4" in v.message
    assert bad.exit_code(FailOn.ERROR) == 1 and bad.exit_code(FailOn.NEVER) == 0


def test_warn_level(tmp_path: Path) -> None:
    budget = _budget(tmp_path, f"checks:\n  - model: {MOBILENET}\n    max: {{macs: 1M}}\n"
                               "    level: warn\n")
    out = _evaluate(budget, _measured())
    assert [v.status for v in out.violations] == [CheckStatus.WARN]
    assert out.exit_code(FailOn.ERROR) == 0 and out.exit_code(FailOn.WARN) == 1


@pytest.mark.parametrize(("rule", "base_macs", "now", "fails"), [
    ("1%", 1_000_000, 1_010_000, False),
    ("1%", 1_000_000, 1_010_001, True),
    ("0.5%", 999, 1003, False),
    ("0.5%", 999, 1004, True),  # 999 * 1.005 = 1003.995: the limit is 1003
    ("+50k", 1_000_000, 1_050_000, False),
    ("+50k", 1_000_000, 1_050_001, True),
    ("-10k", 1_000_000, 990_000, False),  # a negative delta demands a decrease
    ("-10k", 1_000_000, 990_001, True),
    ("0", 1_000_000, 1_000_000, False),
    ("0", 1_000_000, 1_000_001, True),
])
def test_increase_rules(tmp_path: Path, rule: str, base_macs: int, now: int, fails: bool) -> None:
    budget = _budget(tmp_path, f"checks:\n  - name: m\n    model: {MOBILENET}\n"
                               f"    max_increase: {{macs: '{rule}'}}\n")
    out = _evaluate(budget, _measured(now), _base(budget, _measured(base_macs)))
    (m,) = out.metric_results
    assert m.baseline == base_macs and m.baseline_state is BaselineState.OK
    assert (m.status is CheckStatus.FAIL) is fails
    if fails:
        (v,) = m.violations
        assert v.kind is LimitKind.INCREASE and "against the baseline" in v.message
        assert "budgets.yaml:4" in v.message and "--update-baseline" in v.message


def test_missing_baseline_policies(tmp_path: Path) -> None:
    budget = _budget(tmp_path, f"checks:\n  - name: m\n    model: {MOBILENET}\n"
                               "    max_increase: {macs: 1%}\n")
    for policy, status in ((Policy.PASS, CheckStatus.PASS), (Policy.WARN, CheckStatus.WARN),
                           (Policy.ERROR, CheckStatus.FAIL)):
        (m,) = _evaluate(budget, _measured(), None, policy).metric_results
        assert m.baseline_state is BaselineState.MISSING and m.status is status


@pytest.mark.parametrize(("change", "needle"), [
    ("version", "written by convcost 0.0.1"),
    ("convention", "counting convention differs (macs)"),
    ("shape", "input shape 1×3×192×192 in the baseline"),
])
def test_incompatible_baseline_is_not_a_regression(tmp_path: Path, change: str,
                                                   needle: str) -> None:
    import json

    budget = _budget(tmp_path, f"checks:\n  - name: m\n    model: {MOBILENET}\n"
                               "    max_increase: {macs: 1%}\n")
    data = json.loads(_base(budget, _measured(MACS // 2)))  # would be a +100% regression
    if change == "version":
        data["convcost"] = "0.0.1"
    elif change == "convention":
        data["convention"]["macs"] = "something else"
    else:
        data["checks"]["m"]["input_shape"] = [[1, 3, 192, 192]]
    (m,) = _evaluate(budget, _measured(), json.dumps(data)).metric_results
    assert m.baseline_state is BaselineState.INCOMPATIBLE and needle in m.baseline_reason
    assert m.status is CheckStatus.WARN
    assert all(v.kind is LimitKind.BASELINE for v in m.violations)


def test_hints_for_headroom_and_drops(tmp_path: Path) -> None:
    budget = _budget(tmp_path, f"checks:\n  - name: m\n    model: {MOBILENET}\n"
                               "    max: {macs: 1G}\n    max_increase: {macs: 1%}\n")
    out = _evaluate(budget, _measured(), _base(budget, _measured(MACS + 1000)))
    texts = [h.message for h in out.hints]
    assert any("tighten it (e.g. to 598M) at" in t for t in texts)
    assert any("dropped 1,000" in t and "--update-baseline" in t for t in texts)


def test_baseline_text_is_stable_and_exact(tmp_path: Path) -> None:
    budget = _budget(tmp_path, f"checks:\n  - name: m\n    model: {MOBILENET}\n"
                               "    max: {macs: 1G}\n")
    text = _base(budget, _measured())
    assert text.endswith("}\n") and text == _base(budget, _measured())
    assert f'"macs": {MACS}' in text
    parsed = parse_baseline(text, "b.json")
    assert parsed.entries["m"].counts[Metric.MACS] == MACS
    assert parsed.version == VERSION and parsed.convention == CONVENTION.to_dict()


@pytest.mark.parametrize(("text", "line"), [
    ("{\n  \"schema\": 1,\n  oops\n}", 3),
    ("[]", None),
    ('{"schema": 7}', None),
])
def test_bad_baseline(text: str, line: int | None) -> None:
    with pytest.raises(InputError) as info:
        parse_baseline(text, "b.json")
    assert info.value.context.file == "b.json" and info.value.context.line == line
