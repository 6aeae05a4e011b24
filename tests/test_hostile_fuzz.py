"""Fuzz: budget files, budget values, baselines and whole command lines. Each gives a result or
one of convcost's own errors (one line, exit 2 or 3), never another exception, a traceback or a
hang. A fixed seed by default; CONVCOST_FUZZ_EXAMPLES=N for a larger random run."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcost.budget.baseline import parse_baseline
from convcost.budget.spec import CHECK_KEYS, TOP_KEYS, load_budget
from convcost.budget.units import MAX_COUNT, Metric, UnitError, parse_amount
from convcost.cli.app import app
from convcost.errors import InputError
from tests import hostile_inputs as h
from tests.fuzz_settings import fuzz

NUMBERISH = ["600M", "4.5M", "1%", "+50k", "-10k", "1e99999999", "1e400", "1e-400", "٣M", "²",
             "１M", "9" * 80, "1,000,000", "1_000", "0x10", ".5", "5.", "12 parsecs", "600m",
             "1e18", "1e19", "1000000T", "+1e30%", "nan", "inf", "-0", "\x1b[2J", "1\x00",
             "1KiB", "2MiB", "3 GB", " 7 ", ""]
numbers = st.one_of(
    st.sampled_from(NUMBERISH),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.from_regex(r"\A[+-]?[0-9٠-٩²]{1,6}(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,9})?(%|[kMGTB]|KiB)?\Z"),
)


@fuzz(300)
@given(numbers, st.sampled_from(list(Metric)), st.booleans())
def test_budget_values_are_bounded_or_refused(raw: Any, metric: Metric, increase: bool) -> None:
    start = time.monotonic()
    try:
        amount = parse_amount(raw, metric, increase=increase)
    except UnitError:
        pass
    else:
        assert abs(amount.value) <= MAX_COUNT
    assert time.monotonic() - start < 1.0


scalar = st.one_of(st.none(), st.booleans(), numbers, st.sampled_from(
    ["tiny.yaml", "nope.yaml", "models.py:Small", "pkg.mod:f", "../x.json", "/etc/passwd",
     "fc*", "error", "warn", "1,3,8,8", "1,3,٨,8"]))
keys = st.one_of(st.sampled_from([*TOP_KEYS, *CHECK_KEYS, *(m.value for m in Metric)]),
                 st.text(max_size=6))
values: st.SearchStrategy[Any] = st.recursive(
    scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                    st.dictionaries(keys, inner, max_size=4)), max_leaves=20)
limits = st.dictionaries(st.sampled_from([m.value for m in Metric]), numbers, max_size=3)
check = st.fixed_dictionaries(
    {"model": st.one_of(st.just("tiny.yaml"), scalar)},
    optional={"name": scalar, "max": st.one_of(limits, values), "max_increase": limits,
              "level": scalar, "scope": scalar, "input": values, "kwargs": values})
document = st.fixed_dictionaries(
    {"checks": st.one_of(st.lists(check, max_size=3), values)},
    optional={"version": st.one_of(st.just(1), scalar), "baseline": scalar})


@fuzz(200)
@given(document, st.dictionaries(keys, values, max_size=2))
def test_budget_files_load_or_give_one_error(doc: dict[str, Any], extra: dict[str, Any]
                                             ) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        h.write(folder / "tiny.yaml", h.TINY_YAML)
        try:
            text = yaml.safe_dump({**extra, **doc}, allow_unicode=True)
        except yaml.YAMLError:
            return
        path = h.write(folder / "budgets.yaml", text)
        try:
            load_budget(str(path))
        except InputError as err:
            assert str(err).startswith(str(path)), str(err)


json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**25), max_value=10**25),
              st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=15)


@fuzz(200)
@given(st.one_of(
    json_values,
    st.fixed_dictionaries({"schema": st.sampled_from([1, 2, "1"]),
                           "convcost": st.one_of(st.just("0.1.0"), json_values),
                           "convention": json_values,
                           "checks": st.dictionaries(st.text(max_size=5), st.fixed_dictionaries(
                               {"input_shape": json_values, "counts": json_values}),
                               max_size=2)})))
def test_baselines_load_or_give_one_error(data: Any) -> None:
    try:
        parse_baseline(json.dumps(data), "baseline.json")
    except InputError as err:
        assert str(err).startswith("baseline.json")


COMMANDS: dict[str, list[str]] = {
    "analyze": ["{d}/tiny.yaml", "--no-reference", "--depth", "--width-mult", "--resolution",
                "--batch", "--as", "--dtype", "--format", "--export", "--kwargs", "--input",
                "--strict"],
    "compare": ["--kernel", "-k", "--in", "--out", "--size", "--stride", "--padding",
                "--dilation", "--depth-multiplier", "--batch", "--dims", "--dtype", "--format",
                "--no-reference", "--bias"],
    "check": ["{d}/tiny.yaml", "{d}/budgets.yaml", "--max", "--max-increase", "--scope",
              "--baseline", "--fail-on", "--format", "--junit", "--markdown",
              "--missing-baseline", "--annotations"],
    "sweep": ["{d}/tiny.yaml", "--width-mult", "--resolution", "--batch", "--format"],
}
ARG_VALUES = ["3", "8", "16", "0", "-1", "²", "٣", "1e99", "9" * 25, "1.5", "nan", "x", "2x2",
              "same", "valid", "standard", "separable", "json", "csv", "markdown", "table",
              "float32", "int8", "macs=1M", "macs=1e99999999", "params=٣M", "macs=1%",
              "fc*", "1,3,8,8", "{}", "{d}/tiny.yaml", "{d}/budgets.yaml", "{d}/out.svg",
              "{d}/junit.xml", "{d}/base.json", "warn", "never", "error", "github", "none", "",
              "--", "-", "\x1b[2J", "1,2", "0.75,0.5"]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(COMMANDS)))
    words = draw(st.lists(st.one_of(st.sampled_from(COMMANDS[command]),
                                    st.sampled_from(ARG_VALUES)), max_size=8))
    if command == "compare":
        words += ["--no-reference"]
    return [command, *words]


@fuzz(150)
@given(command_lines())
def test_command_lines_give_a_result_or_one_line(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        h.write(folder / "tiny.yaml", h.TINY_YAML)
        h.write(folder / "budgets.yaml", h.budget("tiny.yaml", "max: {macs: 1G}"))
        args = [a.replace("{d}", tmp) for a in argv]
        if "--measure" in args:
            return
        result = CliRunner().invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": "120"})
        assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
        assert "internal error" not in result.stderr, (args, result.stderr)
        if result.exit_code >= 2 and "Usage:" not in result.stderr:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("convcost: error: "), (args, lines)
