"""Data flow between layer records: which record produced each input, and who consumes whom.

A front-end that knows the flow (the YAML front-end) fills ``LayerRecord.sources``. When any
record lacks it, the flow is inferred from execution order and shapes: an input comes from the
most recent earlier record whose output has that shape, or the same tensor permuted between
channels-first ``(N, C, *spatial)`` and channels-last ``(N, *spatial, C)`` (the permutes around
a ConvNeXt block's LayerNorm and linear layers cost nothing, so they leave no record). Both
passes are linear in the number of records.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.core.cost import Cost
from convcost.core.ops import Shape
from convcost.core.records import LayerRecord

MODEL_INPUT = -1


def channels_last(shape: Shape) -> Shape:
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)``; shapes of rank < 3 are returned as is."""
    return (shape[0], *shape[2:], shape[1]) if len(shape) >= 3 else shape


def channels_first(shape: Shape) -> Shape:
    """``(N, *spatial, C)`` -> ``(N, C, *spatial)``; shapes of rank < 3 are returned as is."""
    return (shape[0], shape[-1], *shape[1:-1]) if len(shape) >= 3 else shape


def same_tensor(a: Shape, b: Shape) -> bool:
    """``a`` is ``b``, or ``b`` permuted to or from channels-last."""
    return a == b or a == channels_last(b) or a == channels_first(b)


def linked(records: Sequence[LayerRecord]) -> bool:
    """Every record carries valid data-flow links (``sources``)."""
    return all(r.sources is not None and len(r.sources) == len(r.inputs)
               and all(-1 <= s < i for s in r.sources) for i, r in enumerate(records))


def sources_of(records: Sequence[LayerRecord], costs: Sequence[Cost]) -> list[tuple[int, ...]]:
    """For each record, the index of the record that produced each of its inputs (-1: none)."""
    n = len(records)
    if linked(records):
        return [tuple(r.sources or ()) for r in records]
    latest: dict[Shape, int] = {}
    inferred: list[tuple[int, ...]] = []
    for i in range(n):
        srcs = []
        for s in records[i].inputs:
            best = latest.get(s, MODEL_INPUT)
            if len(s) >= 3:
                best = max(best, latest.get(channels_first(s), MODEL_INPUT),
                           latest.get(channels_last(s), MODEL_INPUT))
            srcs.append(best)
        inferred.append(tuple(srcs))
        latest[costs[i].output_shape] = i
    return inferred


def consumers_of(sources: Sequence[tuple[int, ...]]) -> list[list[int]]:
    """For each record, the records that read its output (each once, in order)."""
    out: list[list[int]] = [[] for _ in sources]
    for j, srcs in enumerate(sources):
        for s in srcs:
            if s >= 0 and (not out[s] or out[s][-1] != j):
                out[s].append(j)
    return out
