"""The eight cost counters: declared once, summed and serialised from that one declaration."""

from __future__ import annotations

from dataclasses import fields

from convcost.core.analysis import Totals
from convcost.core.cost import COUNTERS, Cost, Counters


def _distinct(base: int) -> dict[str, int]:
    return {name: base + 10 * i for i, name in enumerate(COUNTERS)}


def test_counter_fields_are_the_declared_names() -> None:
    assert tuple(f.name for f in fields(Counters)) == COUNTERS
    assert [f.name for f in fields(Cost)] == [*COUNTERS, "output_shape"]
    assert tuple(f.name for f in fields(Totals)) == COUNTERS


def test_cost_addition_adds_every_counter_and_keeps_the_later_shape() -> None:
    a = Cost(output_shape=(1, 2), **_distinct(1))
    b = Cost(output_shape=(1, 3), **_distinct(1000))
    total = a + b
    assert total.output_shape == (1, 3)
    for name in COUNTERS:
        assert getattr(total, name) == getattr(a, name) + getattr(b, name), name


def test_totals_of_sums_every_counter_by_name() -> None:
    costs = [Cost(output_shape=(1,), **_distinct(b)) for b in (1, 2, 3)]
    totals = Totals.of(costs)
    for name in COUNTERS:
        assert getattr(totals, name) == sum(getattr(c, name) for c in costs), name
    assert totals.params == totals.weights + totals.bias + totals.affine + totals.free
    assert totals.flops == 2 * totals.macs


def test_totals_json_keys_and_order_are_unchanged() -> None:
    t = Totals(**_distinct(1))
    d = t.to_dict()
    assert list(d) == ["macs", "flops", "params", "weights", "bias", "affine", "free",
                       "buffers", "other_ops", "bytes"]
    assert d["flops"] == 2 * t.macs and d["params"] == t.params
    assert Totals.of([]) == Totals()


def test_a_record_without_its_sources_keeps_every_other_field() -> None:
    from dataclasses import fields, replace

    from convcost.core.ops import Flatten
    from convcost.core.records import LayerRecord
    from convcost.errors import Context

    rec = LayerRecord(("a", "b"), Flatten(), ((1, 2, 3),), Context(file="x", line=3), True,
                      False, (0,))
    assert {f.name for f in fields(LayerRecord)} == {
        "path", "op", "inputs", "origin", "tied", "bias_tied", "sources"}  # a new field: add it
    assert rec.without_sources() == replace(rec, sources=None)
    plain = replace(rec, sources=None)
    assert plain.without_sources() is plain


def test_totals_of_nothing_and_of_many() -> None:
    from convcost.core.analysis import Totals
    from convcost.core.cost import COUNTERS, Cost

    assert Totals.of([]) == Totals(**dict.fromkeys(COUNTERS, 0))
    costs = [Cost(output_shape=(1,), macs=i, weights=2 * i, bytes=3) for i in range(5)]
    t = Totals.of(costs)
    assert (t.macs, t.weights, t.bytes, t.bias) == (10, 20, 15, 0)
