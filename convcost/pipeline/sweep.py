"""The width-multiplier × resolution grid of a YAML description: only totals, costed once per
point (no variants, alternatives or references)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from convcost.core.sweep import SweepPoint
from convcost.errors import Context, InputError
from convcost.frontends.source_kind import is_yaml


@dataclass(frozen=True)
class Sweep:
    name: str
    points: tuple[SweepPoint, ...]


def check_sweepable(source: str) -> None:
    """Refuse a source that is not a YAML description before anything is read."""
    if not is_yaml(source):
        raise InputError(
            "sweep takes a YAML model description (.yaml): it changes the description's "
            "width multiplier and resolution; analyse a torch or ONNX model with "
            "`convcost analyze`", Context(file=source))


def sweep_grid(
    path: str,
    width_mults: Sequence[float],
    resolutions: Sequence[int] | None = None,
    *,
    batch: int = 1,
    on_point: Callable[[], object] | None = None,
) -> Sweep:
    """Totals at every (α, resolution); ``resolutions=None``: the description's own."""
    from convcost.core.analysis import Totals, cost_records
    from convcost.frontends.yaml_records import records_from_spec
    from convcost.frontends.yaml_spec import load_spec

    check_sweepable(path)
    base = load_spec(path)
    points = []
    for alpha in width_mults:
        for res in resolutions if resolutions is not None else [base.input_shape[-1]]:
            spec = load_spec(path, width_mult=alpha, resolution=res)
            records = records_from_spec(spec, batch=batch)
            t = Totals.of(cost_records(records, spec.dtype))
            points.append(SweepPoint(alpha, res, t.macs, t.params, t.weights))
            if on_point is not None:
                on_point()
    return Sweep(base.name, tuple(points))
