"""Baselines: the counts a ``max_increase`` is measured against.

A baseline records the convcost version, the counting convention and, for every check, the
model, scope, input shapes and every metric as an exact integer, and each layer's costs
(``layers``: one ``[name, kind, macs, params, weights, other_ops, bytes]`` per line) so that a
regression can name the layers that grew. Baselines without ``layers`` still read. A check
whose record differs in version, convention or input shape is *incompatible* (reported, not a
regression).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convcost.budget.layer_diff import METRICS, LayerCost
from convcost.budget.measure import Measured
from convcost.budget.spec import Budget
from convcost.budget.units import Metric
from convcost.errors import Context, InputError

SCHEMA = 1


@dataclass(frozen=True)
class Entry:
    model: str
    scope: str | None
    input_shapes: tuple[tuple[int, ...], ...]
    counts: dict[Metric, int]
    layers: tuple[LayerCost, ...] | None = None
    """None in a baseline written before per-layer costs were recorded."""


@dataclass(frozen=True)
class Baseline:
    path: str
    version: str
    convention: dict[str, str]
    entries: dict[str, Entry]

    def compatibility(self, name: str, *, version: str, convention: Mapping[str, str],
                      model: str, scope: str | None,
                      input_shapes: tuple[tuple[int, ...], ...]) -> str | None:
        """None when the check's entry can be compared; otherwise why it cannot."""
        if self.version != version:
            return f"baseline written by convcost {self.version}, this is {version}"
        if dict(self.convention) != dict(convention):
            changed = sorted(k for k in {*self.convention, *convention}
                             if self.convention.get(k) != convention.get(k))
            return f"counting convention differs ({', '.join(changed)})"
        entry = self.entries.get(name)
        if entry is None:
            return None
        if entry.input_shapes != input_shapes:
            return (f"input shape {_shapes(entry.input_shapes)} in the baseline, "
                    f"{_shapes(input_shapes)} now")
        if entry.model != model or entry.scope != scope:
            return (f"baseline is for {entry.model}" + (f" [{entry.scope}]" if entry.scope else "")
                    + f", the check is for {model}" + (f" [{scope}]" if scope else ""))
        return None


def _shapes(shapes: tuple[tuple[int, ...], ...]) -> str:
    return "; ".join("×".join(map(str, s)) for s in shapes)


def _bad(path: str, message: str, line: int | None = None) -> InputError:
    return InputError(f"bad baseline: {message} (rewrite it with --update-baseline)",
                      Context(file=path, line=line))


MAX_BYTES = 64 << 20
MAX_COUNT = 10**18
"""Counts and shape sizes beyond this are refused."""


def _no_float(text: str) -> Any:
    raise ValueError(f"{text[:20]!r}: a baseline holds integers only")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def parse_baseline(text: str, path: str) -> Baseline:
    if len(text) > MAX_BYTES:
        raise _bad(path, f"larger than {MAX_BYTES:,} characters")
    try:
        data = json.loads(text, parse_float=_no_float, parse_constant=_no_float)
    except json.JSONDecodeError as e:
        raise _bad(path, f"not JSON: {e.msg}", e.lineno) from None
    except (ValueError, RecursionError) as e:  # a 5,000-digit integer, a 100,000-deep list
        raise _bad(path, f"not a baseline: {type(e).__name__}: {str(e)[:80]}") from None
    if not isinstance(data, dict):
        raise _bad(path, "expected a JSON object")
    if data.get("schema") != SCHEMA:
        raise _bad(path, f"unsupported schema {data.get('schema')!r}; expected {SCHEMA}")
    version, convention, checks = data.get("convcost"), data.get("convention"), data.get("checks")
    if not isinstance(version, str) or not isinstance(convention, dict) or \
            not isinstance(checks, dict):
        raise _bad(path, "expected 'convcost', 'convention' and 'checks'")
    entries: dict[str, Entry] = {}
    for name, entry in checks.items():
        if not isinstance(entry, dict):
            raise _bad(path, f"checks.{name}: expected an object")
        shapes = entry.get("input_shape")
        counts = entry.get("counts")
        if not isinstance(shapes, list) or not all(
                isinstance(s, list) and all(_int(d) for d in s) for s in shapes):
            raise _bad(path, f"checks.{name}.input_shape: expected a list of shapes")
        if not isinstance(counts, dict) or not all(_int(v) for v in counts.values()):
            raise _bad(path, f"checks.{name}.counts: expected integer counts")
        known = {m: counts[m.value] for m in Metric if m.value in counts}
        scope = entry.get("scope")
        entries[name] = Entry(str(entry.get("model", "")),
                              scope if isinstance(scope, str) else None,
                              tuple(tuple(s) for s in shapes), known,
                              _layers(path, name, entry.get("layers")))
    return Baseline(path, version, {str(k): str(v) for k, v in convention.items()}, entries)


def _layers(path: str, name: str, value: Any) -> tuple[LayerCost, ...] | None:
    if value is None:
        return None
    width = 2 + len(METRICS)
    if not isinstance(value, list) or not all(
            isinstance(x, list) and len(x) == width and isinstance(x[0], str)
            and isinstance(x[1], str) and all(_int(c) for c in x[2:]) for x in value):
        raise _bad(path, f"checks.{name}.layers: expected [name, kind, "
                   f"{', '.join(METRICS)}] lists")
    return tuple(LayerCost.from_list(x) for x in value)


def load_baseline(path: str) -> Baseline | None:
    """The baseline at ``path``, or None when there is no such file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the baseline: {e}", Context(file=path)) from None
    return parse_baseline(text, path)


def baseline_text(budget: Budget, measured: Mapping[str, Measured], *, version: str,
                  convention: Mapping[str, str]) -> str:
    """The current counts as a baseline: exact integers, sorted keys, a trailing newline."""
    checks: dict[str, Any] = {}
    for check in budget.checks:
        m = measured[check.name]
        checks[check.name] = {
            "model": check.model,
            "scope": check.scope,
            "input_shape": [list(s) for s in m.input_shapes],
            "counts": {metric.value: m.counts[metric] for metric in Metric},
            "layers": f"@layers:{check.name}",
        }
    data = {"schema": SCHEMA, "convcost": version, "convention": dict(convention),
            "checks": checks}
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # one layer per line: readable, and a commit's diff shows which layers changed
    for check in budget.checks:
        layers = measured[check.name].layers
        placeholder = json.dumps(f"@layers:{check.name}", ensure_ascii=False)
        indent = " " * 8
        body = ("[\n" + ",\n".join(indent + json.dumps(x.to_list(), ensure_ascii=False)
                                    for x in layers) + "\n      ]") if layers else "[]"
        text = text.replace(placeholder, body, 1)
    return text
