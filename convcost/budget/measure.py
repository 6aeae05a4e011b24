"""Count what each check limits: one analysis per distinct model, scopes summed over rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from convcost.budget.layer_diff import LayerCost, layer_costs
from convcost.budget.spec import Budget, Check
from convcost.budget.units import Metric
from convcost.core.analysis import Analysis, Row, Totals
from convcost.errors import Context, InputError


@dataclass(frozen=True)
class Measured:
    """The counts a check is held to, and what they were measured on."""

    counts: dict[Metric, int]
    input_shapes: tuple[tuple[int, ...], ...]
    model_name: str
    lower_bound: bool = False
    rows: int = 0
    """How many rows the scope summed (every row without a scope)."""
    layers: tuple[LayerCost, ...] = ()
    """Each row's costs (the rows in scope), for per-layer baselines and diffs."""


Analyze = Callable[[Check], Analysis]


def in_scope(name: str, pattern: str) -> bool:
    """A row is in scope when its name, or a module above it, matches the glob.

    ``fc*`` matches ``fc``; ``layer4`` matches ``layer4.blocks.0.conv1``; ``*.dw`` matches
    every depthwise row. Matching is case-sensitive (``fnmatch.fnmatchcase``).
    """
    if fnmatchcase(name, pattern):
        return True
    parts = name.split(".")
    return any(fnmatchcase(".".join(parts[:i]), pattern) for i in range(1, len(parts)))


def _counts(totals: Totals) -> dict[Metric, int]:
    return {m: int(getattr(totals, m.value)) for m in Metric}


def scoped(analysis: Analysis, check: Check) -> Measured:
    shapes = tuple(tuple(s) for s in analysis.input_shapes)
    if check.scope is None:
        return Measured(_counts(analysis.totals), shapes, analysis.name, analysis.lower_bound,
                        len(analysis.rows), layer_costs(analysis.rows))
    rows: list[Row] = [r for r in analysis.rows if in_scope(r.name, check.scope)]
    if not rows:
        where = check.scope_where
        examples = _examples(r.name for r in analysis.rows)
        raise InputError(
            f"scope {check.scope!r} matches no layer of {check.model} (check {check.name!r}); "
            f"layers are named like {examples}",
            Context(file=where.file if where else None, line=where.line if where else None,
                    col=where.col if where else None,
                    key=f"{check.name}.scope" if where is None or where.file is None else None,
                    flag=where.flag if where else None),
        )
    return Measured(_counts(Totals.of(r.cost for r in rows)), shapes, analysis.name,
                    analysis.lower_bound, len(rows), layer_costs(rows))


def _examples(names: Iterable[str]) -> str:
    seen = list(dict.fromkeys(names))
    picked = seen[:3] + (seen[-1:] if len(seen) > 3 else [])
    return ", ".join(repr(n) for n in picked)


def measure(budget: Budget, analyze: Analyze,
            on_model: Callable[[str], None] | None = None) -> dict[str, Measured]:
    """Counts for every check, keyed by check name; each distinct model is analysed once by
    ``analyze`` (the pipeline's :func:`~convcost.pipeline.run.analyze_check`)."""
    cache: dict[str, Analysis] = {}
    out: dict[str, Measured] = {}
    for check in budget.checks:
        key = check.model_key
        if key not in cache:
            if on_model is not None:
                on_model(check.model)
            cache[key] = analyze(check)
        out[check.name] = scoped(cache[key], check)
    return out
