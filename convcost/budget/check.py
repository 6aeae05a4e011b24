"""Hold measured counts to a budget: results, violations and hints, as data (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from convcost._compat import StrEnum
from convcost.budget.baseline import Baseline, Entry
from convcost.budget.layer_diff import DiffRow, describe_growth, diff
from convcost.budget.measure import Measured
from convcost.budget.policy import FailOn, Policy
from convcost.budget.spec import Budget, Check, Level, Threshold, Where
from convcost.budget.units import Form, Metric, suggest

TOP_LAYERS = 5
"""How many of the layers that grew a regression message names."""

HEADROOM_HINT = Fraction(20, 100)
"""A hint to tighten a ``max`` when more than this share of it is unused."""


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


class BaselineState(StrEnum):
    UNUSED = "unused"
    """The metric has no ``max_increase``."""
    OK = "ok"
    MISSING = "missing"
    INCOMPATIBLE = "incompatible"


class Kind(StrEnum):
    MAX = "max"
    INCREASE = "max_increase"
    BASELINE = "baseline"


_RANK = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2}


def worst(statuses: list[Status]) -> Status:
    return max(statuses, key=_RANK.__getitem__, default=Status.PASS)


@dataclass(frozen=True)
class Violation:
    check: str
    metric: Metric
    kind: Kind
    status: Status
    message: str
    where: Where | None
    value: int
    limit: int | None = None
    excess: int | None = None
    grown: tuple[DiffRow, ...] = ()
    """For a regression against a per-layer baseline: the layers that grew most."""


@dataclass(frozen=True)
class Hint:
    check: str
    metric: Metric
    message: str
    where: Where | None


@dataclass(frozen=True)
class MetricResult:
    check: Check
    metric: Metric
    value: int
    maximum: Threshold | None
    increase: Threshold | None
    increase_limit: int | None
    baseline: int | None
    """The baseline's count when the metric can be compared with it (state OK)."""
    baseline_state: BaselineState
    baseline_reason: str
    status: Status
    violations: tuple[Violation, ...]

    @property
    def limit(self) -> int | None:
        """The tightest limit that applies."""
        limits = [x for x in (self.maximum.amount.count() if self.maximum else None,
                              self.increase_limit) if x is not None]
        return min(limits) if limits else None

    @property
    def limit_where(self) -> Where | None:
        if self.maximum is None:
            return self.increase.where if self.increase else None
        if self.increase_limit is not None and self.increase is not None and \
                self.increase_limit < self.maximum.amount.count():
            return self.increase.where
        return self.maximum.where

    @property
    def delta(self) -> int | None:
        return None if self.baseline is None else self.value - self.baseline

    @property
    def delta_pct(self) -> float | None:
        if self.baseline is None or self.delta is None:
            return None
        return 100.0 * self.delta / self.baseline if self.baseline else None

    @property
    def headroom(self) -> int | None:
        return None if self.limit is None else self.limit - self.value

    @property
    def headroom_pct(self) -> float | None:
        if self.limit is None or self.headroom is None or not self.limit:
            return None
        return 100.0 * self.headroom / self.limit


@dataclass(frozen=True)
class CheckResult:
    check: Check
    measured: Measured
    metrics: tuple[MetricResult, ...]

    @property
    def status(self) -> Status:
        return worst([m.status for m in self.metrics])


@dataclass(frozen=True)
class Outcome:
    results: tuple[CheckResult, ...]
    hints: tuple[Hint, ...]
    budget: Budget
    baseline_path: str | None
    baseline_found: bool
    baseline_written: bool = False

    @property
    def metric_results(self) -> tuple[MetricResult, ...]:
        return tuple(m for r in self.results for m in r.metrics)

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(v for m in self.metric_results for v in m.violations)

    def counts(self) -> dict[str, int]:
        statuses = [m.status for m in self.metric_results]
        return {"checks": len(self.results), "metrics": len(statuses),
                **{s.value: statuses.count(s) for s in Status}}

    def failed(self, fail_on: FailOn, m: MetricResult) -> bool:
        """Does this metric fail the run under ``--fail-on``?"""
        if fail_on is FailOn.NEVER:
            return False
        return m.status is Status.FAIL or (fail_on is FailOn.WARN and m.status is Status.WARN)

    def exit_code(self, fail_on: FailOn) -> int:
        return 1 if any(self.failed(fail_on, m) for m in self.metric_results) else 0


# ---------------------------------------------------------------- evaluation


def _fmt_pct(x: Fraction | float) -> str:
    v = float(x)
    if v != 0 and abs(v) < 0.01:
        return ("+" if v > 0 else "-") + "<0.01%"
    return f"{v:+.2f}%"


def _over(value: int, limit: int) -> str:
    excess = value - limit
    pct = f" ({_fmt_pct(Fraction(excess * 100, limit))[1:]})" if limit else ""
    return f"by {excess:,}{pct}"


def _as_written(t: Threshold, limit: int) -> str:
    """`` (600M)`` when the budget wrote the limit differently from its exact value."""
    plain = t.amount.text.replace(",", "").replace("_", "")
    return "" if plain == str(limit) else f" ({t.amount.text})"


def _increase_limit(amount_form: Form, amount: Fraction, base: int) -> int:
    if amount_form is Form.PERCENT:
        allowed = Fraction(base) * (100 + amount) / 100
        return int(allowed.__floor__())
    return base + int(amount)


def grown_layers(entry: Entry, measured: Measured, metric: Metric,
                 limit: int = TOP_LAYERS) -> tuple[DiffRow, ...]:
    """The layers that grew most in ``metric`` since the baseline (none without its layers)."""
    if entry.layers is None or not measured.layers:
        return ()
    return tuple(diff(entry.layers, measured.layers).grown(metric.value, limit))


def _metric(check: Check, metric: Metric, got: Measured, baseline: Baseline | None,
            baseline_path: str | None, reason: str | None, policy: Policy,
            update: str) -> MetricResult:
    value = got.counts[metric]
    fail = Status.FAIL if check.level is Level.ERROR else Status.WARN
    violations: list[Violation] = []
    maximum, increase = check.maximum(metric), check.increase(metric)
    name = check.name
    if maximum is not None:
        limit = maximum.amount.count()
        if value > limit:
            violations.append(Violation(
                name, metric, Kind.MAX, fail,
                f"{name}: {metric} {value:,} exceeds max {limit:,}{_as_written(maximum, limit)} "
                f"{_over(value, limit)}; raise the limit at {maximum.where} or shrink the model",
                maximum.where, value, limit, value - limit))
    state, base, inc_limit, why = BaselineState.UNUSED, None, None, ""
    if increase is not None:
        entry = baseline.entries.get(name) if baseline is not None else None
        if reason is not None:
            state, why = BaselineState.INCOMPATIBLE, reason
        elif entry is None or metric not in entry.counts:
            state = BaselineState.MISSING
            why = (f"no baseline file {baseline_path}" if baseline is None and baseline_path
                   else "no baseline file given (set 'baseline:' or --baseline)"
                   if baseline is None else f"no entry for {name!r} in {baseline_path}")
        else:
            state, base = BaselineState.OK, entry.counts[metric]
            inc_limit = _increase_limit(increase.amount.form, increase.amount.value, base)
            if value > inc_limit:
                delta = value - base
                pct = f" ({_fmt_pct(Fraction(delta * 100, base))})" if base else ""
                grown = grown_layers(entry, got, metric)
                layers = (f"; grew most: {describe_growth(grown, metric.value)}"
                          if grown else "")
                violations.append(Violation(
                    name, metric, Kind.INCREASE, fail,
                    f"{name}: {metric} {value:,} is {delta:+,}{pct} against the baseline "
                    f"{base:,}, over the allowed increase {increase.amount.text} (limit "
                    f"{inc_limit:,}) {_over(value, inc_limit)}{layers}; edit {increase.where}, "
                    f"or run {update} to accept the new counts",
                    increase.where, value, inc_limit, value - inc_limit, grown))
        if state in (BaselineState.MISSING, BaselineState.INCOMPATIBLE) and \
                policy is not Policy.PASS:
            status = Status.FAIL if policy is Policy.ERROR else Status.WARN
            what = "missing" if state is BaselineState.MISSING else "incompatible"
            violations.append(Violation(
                name, metric, Kind.BASELINE, status,
                f"{name}: {metric} max_increase not checked: baseline {what}: {why}; "
                f"run {update} to record one",
                increase.where, value))
    status = worst([v.status for v in violations])
    return MetricResult(check, metric, value, maximum, increase, inc_limit, base, state, why,
                        status, tuple(violations))


def _hints(m: MetricResult, update: str) -> list[Hint]:
    out = []
    name = m.check.name
    if m.maximum is not None and m.status is Status.PASS:
        limit = m.maximum.amount.count()
        if limit and Fraction(limit - m.value, limit) > HEADROOM_HINT:
            out.append(Hint(name, m.metric, (
                f"{name}: {m.metric} uses {100 * m.value / limit:.0f}% of max "
                f"{m.maximum.amount.text}; tighten it (e.g. to {suggest(m.value, m.metric)}) at "
                f"{m.maximum.where}"), m.maximum.where))
    if m.baseline is not None and m.value < m.baseline:
        drop = m.baseline - m.value
        out.append(Hint(name, m.metric, (
            f"{name}: {m.metric} dropped {drop:,} ({100 * drop / m.baseline:.2f}%) below the "
            f"baseline; run {update} to lock in the gain"),
            m.increase.where if m.increase else None))
    return out


def default_update_command(budget: Budget) -> str:
    import shlex

    target = budget.file or (budget.checks[0].model if budget.checks else "BUDGETS")
    return f"convcost check {shlex.quote(target)} --update-baseline"


def evaluate(budget: Budget, measured: Mapping[str, Measured], baseline: Baseline | None, *,
             baseline_path: str | None, version: str, convention: Mapping[str, str],
             policy: Policy = Policy.WARN, baseline_written: bool = False,
             update_command: str | None = None) -> Outcome:
    """Every check and metric against its limits; pure: counts and baseline in, data out.

    ``update_command`` is the command that rewrites the baseline, quoted in messages (by
    default ``convcost check BUDGETS --update-baseline``)."""
    update = update_command or default_update_command(budget)
    results, hints = [], []
    for check in budget.checks:
        got = measured[check.name]
        reason = None
        if baseline is not None and check.increases:
            reason = baseline.compatibility(
                check.name, version=version, convention=convention, model=check.model,
                scope=check.scope, input_shapes=got.input_shapes)
        metrics = tuple(_metric(check, metric, got, baseline, baseline_path, reason, policy,
                                update) for metric in check.metrics())
        for m in metrics:
            hints += _hints(m, update)
        results.append(CheckResult(check, got, metrics))
    return Outcome(tuple(results), tuple(hints), budget, baseline_path, baseline is not None,
                   baseline_written)
