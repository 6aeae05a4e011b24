"""The statistics and flags behind `--measure` (pure: made-up samples, no timing asserted)."""

from __future__ import annotations

import json
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcost.cli.app import app
from convcost.reference.timing_stats import (
    WIDE_SPREAD,
    Timing,
    interleaved_order,
    part_warnings,
    spread_warnings,
    with_advice,
)


def test_quartiles_and_spread() -> None:
    t = Timing.of([5.0, 1.0, 3.0, 2.0, 4.0], calls=7)
    assert (t.median_ms, t.min_ms, t.max_ms) == (3.0, 1.0, 5.0)
    assert (t.q1_ms, t.q3_ms) == (2.0, 4.0)  # the inclusive method: 1 + 0.25·4, 1 + 0.75·4
    assert t.iqr_ms == 2.0 and t.spread == pytest.approx(2 / 3)
    assert t.wide and t.repeats == 5 and t.calls == 7
    assert t.samples == (5.0, 1.0, 3.0, 2.0, 4.0)  # in the order taken


@given(st.lists(st.floats(min_value=1e-3, max_value=1e3), min_size=1, max_size=40))
def test_quartiles_agree_with_the_standard_library(samples: list[float]) -> None:
    t = Timing.of(samples)
    assert t.min_ms <= t.q1_ms <= t.median_ms <= t.q3_ms <= t.max_ms
    assert t.median_ms == statistics.median(samples)
    if len(samples) >= 2:
        q1, _, q3 = statistics.quantiles(samples, n=4, method="inclusive")
        assert t.q1_ms == pytest.approx(q1) and t.q3_ms == pytest.approx(q3)


def test_a_steady_timing_is_not_flagged() -> None:
    steady = Timing.of([1.00, 1.01, 0.99, 1.02, 1.00])
    assert not steady.wide and spread_warnings({"standard": steady}) == []
    edge = Timing.of([1.0 - WIDE_SPREAD / 2, 1.0, 1.0 + WIDE_SPREAD / 2])
    assert not edge.wide  # an IQR of half the limit is fine


def test_a_part_slower_than_its_whole_is_flagged() -> None:
    whole = Timing.of([1.0, 1.0, 1.0])
    dw = Timing.of([1.3, 1.3, 1.3])  # the depthwise half alone slower than dw + pw
    pw = Timing.of([0.4, 0.4, 0.4])
    found = part_warnings({"depthwise": dw, "pointwise": pw}, "the separable pair", whole)
    assert len(found) == 1 and found[0].startswith("inconsistent: depthwise alone")
    assert part_warnings({"pointwise": pw}, "the separable pair", whole) == []


def test_advice_only_when_something_is_wrong() -> None:
    assert with_advice([]) == []
    out = with_advice(["noisy: x"])
    assert out[0] == "noisy: x" and "re-run on an idle machine" in out[-1]


def test_interleaving_rotates_so_each_variant_takes_each_slot() -> None:
    names = ["standard", "depthwise", "pointwise", "separable"]
    rounds = [interleaved_order(names, r) for r in range(4)]
    assert all(sorted(r) == sorted(names) for r in rounds)  # one sample of each per round
    for slot in range(4):
        assert sorted(r[slot] for r in rounds) == sorted(names)
    assert interleaved_order([], 3) == []


def test_measure_json_carries_spread_warnings_and_threads() -> None:
    pytest.importorskip("torch")
    result = CliRunner().invoke(app, [
        "compare", "--kernel", "3", "--in", "8", "--out", "16", "--size", "8", "--no-reference",
        "--measure", "--repeats", "3", "--warmup", "0", "--threads", "1", "--format", "json"],
        env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.stderr
    m = json.loads(result.stdout)["measured"]
    assert m["threads"] == 1 and m["threads_set"] is True and m["interleaved"] is True
    for v in ("standard", "depthwise", "pointwise", "separable"):
        q1, q3 = m["iqr_ms"][v]
        lo, hi = m["range_ms"][v]
        assert lo <= q1 <= q3 <= hi and len(m["samples_ms"][v]) == 3
        assert m["spread"][v] == pytest.approx((q3 - q1) / m[f"{v}_ms"])
    assert isinstance(m["warnings"], list) and m["reliable"] is (not m["warnings"])
    bad = CliRunner().invoke(app, ["compare", "--kernel", "3", "--in", "8", "--out", "16",
                                   "--measure", "--threads", "0"])
    assert bad.exit_code == 2
