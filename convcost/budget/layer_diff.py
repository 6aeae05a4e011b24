"""Per-layer costs and how two lists of them differ: pure data in, diff rows out.

Layers are matched by name; where names change, the unmatched layers between two matched ones
are paired by position when their kinds agree (a rename). What is left is added or removed.
Rows are sorted by impact: the largest MAC change first, then params, then bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from convcost._compat import StrEnum

METRICS = ("macs", "params", "weights", "other_ops", "bytes")
"""What a layer records (``flops`` is 2 × ``macs``)."""

SHOWN = ("macs", "params", "bytes")
"""What a diff shows and sorts by."""


@dataclass(frozen=True)
class LayerCost:
    name: str
    kind: str
    macs: int = 0
    params: int = 0
    weights: int = 0
    other_ops: int = 0
    bytes: int = 0

    def get(self, metric: str) -> int:
        if metric == "flops":
            return 2 * self.macs
        return int(getattr(self, metric))

    def to_list(self) -> list[object]:
        return [self.name, self.kind, *(self.get(m) for m in METRICS)]

    @classmethod
    def from_list(cls, item: Sequence[object]) -> LayerCost:
        name, kind, *counts = item
        return cls(str(name), str(kind), *(c for c in counts if isinstance(c, int)))


def layer_costs(rows: Iterable[object]) -> tuple[LayerCost, ...]:
    """LayerCosts from analysis rows (``convcost.core.analysis.Row``); duplicate names (a module
    called twice) get ``#2``, ``#3`` so that every name is a key."""
    from convcost.report.analysis import kind_label

    seen: dict[str, int] = {}
    out = []
    for row in rows:
        name = str(getattr(row, "name"))  # noqa: B009
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}#{seen[name]}"
        cost = getattr(row, "cost")  # noqa: B009
        record = getattr(row, "record")  # noqa: B009
        out.append(LayerCost(name, kind_label(record.op), cost.macs, cost.params, cost.weights,
                             cost.other_ops, cost.bytes))
    return tuple(out)


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    RESIZED = "resized"
    RENAMED = "renamed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class DiffRow:
    a: LayerCost | None
    b: LayerCost | None
    change: Change

    @property
    def name(self) -> str:
        if self.a is not None and self.b is not None and self.a.name != self.b.name:
            return f"{self.a.name} → {self.b.name}"
        layer = self.b or self.a
        assert layer is not None
        return layer.name

    @property
    def kind(self) -> str:
        layer = self.b or self.a
        assert layer is not None
        return layer.kind

    def before(self, metric: str) -> int:
        return self.a.get(metric) if self.a is not None else 0

    def after(self, metric: str) -> int:
        return self.b.get(metric) if self.b is not None else 0

    def delta(self, metric: str) -> int:
        return self.after(metric) - self.before(metric)

    def pct(self, metric: str) -> float | None:
        """Change in percent of the layer's old value; None for a new layer (or from zero)."""
        base = self.before(metric)
        return 100.0 * self.delta(metric) / base if base else None

    def impact(self) -> tuple[int, ...]:
        return tuple(-abs(self.delta(m)) for m in SHOWN)


def _same(a: LayerCost, b: LayerCost) -> bool:
    return all(a.get(m) == b.get(m) for m in METRICS)


def _pair(a: LayerCost, b: LayerCost) -> DiffRow:
    if a.name != b.name:
        return DiffRow(a, b, Change.RENAMED)
    return DiffRow(a, b, Change.UNCHANGED if _same(a, b) else Change.RESIZED)


def match(before: Sequence[LayerCost], after: Sequence[LayerCost]) -> list[DiffRow]:
    """Every layer of both lists in exactly one row.

    Same names pair first. An unmatched layer then pairs with an unmatched layer of the same
    kind in the same gap (after the same number of name-matched layers), in order: a renamed
    layer. The rest are added or removed.
    """
    names_a = {x.name for x in before}
    names_b = {x.name for x in after}
    by_name = {x.name: x for x in before}
    rows = [_pair(by_name[y.name], y) for y in after if y.name in names_a]
    gaps_a: dict[int, list[LayerCost]] = {}
    gaps_b: dict[int, list[LayerCost]] = {}
    for layers, others, gaps in ((before, names_b, gaps_a), (after, names_a, gaps_b)):
        k = 0
        for x in layers:
            if x.name in others:
                k += 1
            else:
                gaps.setdefault(k, []).append(x)
    for k in sorted({*gaps_a, *gaps_b}):
        rows += _gap(gaps_a.get(k, []), gaps_b.get(k, []))
    return rows


def _gap(gap_a: list[LayerCost], gap_b: list[LayerCost]) -> list[DiffRow]:
    """Unmatched layers of one gap: pair them in order while kinds agree."""
    rows: list[DiffRow] = []
    j = 0
    for x in gap_a:
        k = next((i for i in range(j, len(gap_b)) if gap_b[i].kind == x.kind), None)
        if k is None:
            rows.append(DiffRow(x, None, Change.REMOVED))
            continue
        rows += [DiffRow(None, y, Change.ADDED) for y in gap_b[j:k]]
        rows.append(_pair(x, gap_b[k]))
        j = k + 1
    rows += [DiffRow(None, y, Change.ADDED) for y in gap_b[j:]]
    return rows


@dataclass(frozen=True)
class Diff:
    before: tuple[LayerCost, ...]
    after: tuple[LayerCost, ...]
    rows: tuple[DiffRow, ...]
    """Changed layers only, largest impact first."""
    unchanged: int
    totals_before: dict[str, int]
    totals_after: dict[str, int]

    def delta(self, metric: str) -> int:
        return self.totals_after[metric] - self.totals_before[metric]

    def pct(self, metric: str) -> float | None:
        base = self.totals_before[metric]
        return 100.0 * self.delta(metric) / base if base else None

    @property
    def increased(self) -> bool:
        return any(self.delta(m) > 0 for m in SHOWN)

    def grown(self, metric: str, limit: int = 5) -> list[DiffRow]:
        """The layers that grew most in ``metric``, largest first."""
        up = [r for r in self.rows if r.delta(metric) > 0]
        return sorted(up, key=lambda r: -r.delta(metric))[:limit]


def totals_of(layers: Iterable[LayerCost]) -> dict[str, int]:
    layers = list(layers)
    out = {m: sum(x.get(m) for x in layers) for m in METRICS}
    out["flops"] = 2 * out["macs"]
    return out


def diff(before: Sequence[LayerCost], after: Sequence[LayerCost], *,
         totals_before: dict[str, int] | None = None,
         totals_after: dict[str, int] | None = None) -> Diff:
    """How ``after`` differs from ``before``; totals default to the layers' sums."""
    rows = match(before, after)
    changed = sorted((r for r in rows if r.change is not Change.UNCHANGED),
                     key=DiffRow.impact)
    return Diff(tuple(before), tuple(after), tuple(changed), len(rows) - len(changed),
                totals_before if totals_before is not None else totals_of(before),
                totals_after if totals_after is not None else totals_of(after))


def describe_growth(rows: Sequence[DiffRow], metric: str) -> str:
    """``conv5 +1,204,224 (+25.00%), fc (new) +40,000`` for a failure message."""
    parts = []
    for r in rows:
        pct = r.pct(metric)
        how = f"({pct:+.2f}%)" if pct is not None else f"({r.change})"
        parts.append(f"{r.name} {r.delta(metric):+,} {how}")
    return ", ".join(parts)
