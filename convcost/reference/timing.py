"""Real latency of a layer's standard and separable forms, measured with torch on this machine.

MAC counts say how much arithmetic a layer needs; they do not say how long it takes. A depthwise
convolution moves a lot of data for very little arithmetic (its arithmetic intensity is low), so
on a real CPU or GPU the separable form is usually much less faster than its MAC ratio promises.
This module times both forms for real so the two numbers can stand side by side.

How: every layer is built from its core op with :func:`convcost.build.layers.layer_for`,
put in ``eval()`` mode on the measuring device (CUDA when present, else the CPU) and fed a real
float32 tensor of random numbers under :func:`torch.inference_mode`. After ``warmup`` calls,
each of ``repeats`` samples times enough back-to-back calls to last at least
:data:`MIN_SAMPLE_SECONDS` (a tiny layer is otherwise below the clock's noise); a sample's time
is divided by its number of calls. The variants being compared are sampled *interleaved*: one
sample of each per round, in an order rotated every round, so that a burst of load from
elsewhere falls on all of them rather than on whichever ran during it. We report the median,
min–max and quartiles, and flag results whose parts are inconsistent or whose spread is wide
(:mod:`convcost.reference.timing_stats`). ``--threads N`` sets ``torch.set_num_threads`` for
the measurement (restored afterwards); otherwise torch's default is used. Either is reported.

Imports torch: only ``--measure`` paths and benchmarks import this module.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from convcost.core.analysis import Analysis, Variant
from convcost.core.cost import Cost
from convcost.core.dtypes import DType
from convcost.core.ops import Conv, Op, Shape
from convcost.core.registry import cost_of
from convcost.core.rewrite import Comparison
from convcost.errors import AnalysisError, InputError, first_line
from convcost.reference.timing_stats import (
    Timing,
    interleaved_order,
    part_warnings,
    spread_warnings,
    with_advice,
)

__all__ = ["Settings", "Timing", "measure_analysis", "measure_comparison", "settings"]

MIN_SAMPLE_SECONDS = 0.002
"""A sample repeats the call until it lasts at least this long (at most MAX_CALLS times)."""
MAX_CALLS = 1000
MAX_INPUT_BYTES = 2 << 30
"""A layer whose float32 input alone is larger than this is not timed (it would swap)."""


@dataclass(frozen=True)
class Settings:
    repeats: int = 10
    warmup: int = 2
    device: str = "cpu"
    threads: int = 1
    threads_set: bool = False
    """True when --threads chose the thread count; False for torch's default."""

    def to_dict(self) -> dict[str, object]:
        return {"repeats": self.repeats, "warmup": self.warmup, "device": self.device,
                "threads": self.threads, "threads_set": self.threads_set,
                "interleaved": True}


def settings(repeats: int = 10, warmup: int = 2, device: str | None = None,
             threads: int | None = None) -> Settings:
    """Measuring settings for this machine: CUDA when present; ``threads`` torch threads, or
    torch's default thread count."""
    if repeats < 1:
        raise InputError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise InputError(f"warm-up must be >= 0, got {warmup}")
    if threads is not None and threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return Settings(repeats=repeats, warmup=warmup, device=dev,
                    threads=threads if threads is not None else torch.get_num_threads(),
                    threads_set=threads is not None)


@contextlib.contextmanager
def _threads(s: Settings) -> Iterator[None]:
    before = torch.get_num_threads()
    if s.threads_set and s.threads != before:
        torch.set_num_threads(s.threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_size(input_shape: Shape) -> None:
    elements = math.prod(input_shape)
    if elements * 4 > MAX_INPUT_BYTES:
        raise InputError(f"input {list(input_shape)} is too large to time "
                         f"({elements * 4 / 2**30:.1f} GiB)")


def time_interleaved(modules: Mapping[str, tuple[nn.Module, Shape]],
                     s: Settings) -> dict[str, Timing]:
    """Time every ``module(x)`` (``x`` random float32 of its shape), sampling the modules in
    turn: one sample of each per round, rotating the order every round."""
    for _, shape in modules.values():
        _check_size(shape)
    device = torch.device(s.device)
    names = list(modules)
    samples: dict[str, list[float]] = {name: [] for name in names}
    calls: dict[str, int] = {}
    with _threads(s), torch.inference_mode():
        ready = {}
        for name, (module, shape) in modules.items():
            m = module.to(device).eval()
            x = torch.randn(*shape, device=device)
            for _ in range(s.warmup):
                m(x)
            _sync(device)
            t0 = time.perf_counter()
            m(x)
            _sync(device)
            once = time.perf_counter() - t0
            calls[name] = max(1, min(MAX_CALLS, math.ceil(MIN_SAMPLE_SECONDS / max(once, 1e-9))))
            ready[name] = (m, x)
        for r in range(s.repeats):
            for name in interleaved_order(names, r):
                m, x = ready[name]
                n = calls[name]
                t0 = time.perf_counter()
                for _ in range(n):
                    m(x)
                _sync(device)
                samples[name].append((time.perf_counter() - t0) / n * 1000.0)
    return {name: Timing.of(samples[name], calls[name]) for name in names}


def time_module(module: nn.Module, input_shape: Shape, s: Settings) -> Timing:
    """Time ``module(x)`` for a random float32 ``x`` of ``input_shape`` (batch first)."""
    return time_interleaved({"module": (module, input_shape)}, s)["module"]


def module_for(ops: Sequence[Op]) -> nn.Module:
    """The layers of ``ops`` run one after the other (e.g. depthwise then pointwise)."""
    from convcost.build.registry import layer_for

    try:
        layers = [layer_for(op) for op in ops]
    except TypeError as e:
        raise AnalysisError(f"cannot time: {e}") from None
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


def time_ops(ops: Sequence[Op], input_shape: Shape, s: Settings) -> Timing:
    """Time the layers of ``ops`` run one after the other (e.g. depthwise then pointwise)."""
    return time_module(module_for(ops), input_shape, s)


# ---------------------------------------------------------------- one layer: compare


class _BothForms:
    """A conv timed in its standard and its separable form, with the MACs of each."""

    standard: Timing
    separable: Timing
    standard_macs: int
    separable_macs: int

    @property
    def speedup(self) -> float:
        """Measured: standard time over separable time."""
        return self.standard.median_ms / self.separable.median_ms

    @property
    def macs_speedup(self) -> float:
        return self.standard_macs / self.separable_macs if self.separable_macs else math.inf


@dataclass(frozen=True)
class CompareTiming(_BothForms):
    settings: Settings
    standard: Timing
    depthwise: Timing
    pointwise: Timing
    separable: Timing
    """Depthwise then pointwise, timed as one sequence."""
    standard_macs: int
    separable_macs: int

    @property
    def warnings(self) -> list[str]:
        """Why these timings should not be trusted (empty when nothing is wrong)."""
        found = part_warnings({"depthwise": self.depthwise, "pointwise": self.pointwise},
                              "the separable pair (dw → pw)", self.separable)
        found += spread_warnings({"standard": self.standard, "depthwise": self.depthwise,
                                  "pointwise": self.pointwise, "separable": self.separable})
        return with_advice(found)


def measure_comparison(c: Comparison, s: Settings,
                       advance: Callable[[], None] | None = None) -> CompareTiming:
    """Time the standard conv, its depthwise and pointwise halves, and the two in sequence."""
    step = advance or (lambda: None)
    shape = c.input_shape
    got = time_interleaved({
        "standard": (module_for([c.standard_op]), shape),
        "depthwise": (module_for([c.depthwise_op]), shape),
        "pointwise": (module_for([c.pointwise_op]), c.depthwise.output_shape),
        "separable": (module_for([c.depthwise_op, c.pointwise_op]), shape),
    }, s)
    for _ in range(4):
        step()
    return CompareTiming(s, got["standard"], got["depthwise"], got["pointwise"],
                         got["separable"], c.standard.macs, c.separable.macs)


# ---------------------------------------------------------------- a model: analyze


@dataclass(frozen=True)
class LayerTiming(_BothForms):
    """One convolution as written and its other form, both timed."""

    name: str
    replaces: tuple[str, ...]
    written: Variant
    """Which form the model has: STANDARD (a k×k conv) or SEPARABLE (a dw + pw pair)."""
    standard: Timing
    separable: Timing
    standard_macs: int
    separable_macs: int
    standard_intensity: float
    """MACs per byte moved (float32 unless the model says otherwise)."""
    separable_intensity: float

    @property
    def noisy(self) -> bool:
        return self.standard.wide or self.separable.wide


@dataclass(frozen=True)
class ModelTiming:
    settings: Settings
    layers: tuple[LayerTiming, ...]
    skipped: tuple[str, ...] = ()
    """Layers with an alternative that could not be timed, with the reason."""

    @property
    def standard_ms(self) -> float:
        return sum(t.standard.median_ms for t in self.layers)

    @property
    def separable_ms(self) -> float:
        return sum(t.separable.median_ms for t in self.layers)

    @property
    def standard_macs(self) -> int:
        return sum(t.standard_macs for t in self.layers)

    @property
    def separable_macs(self) -> int:
        return sum(t.separable_macs for t in self.layers)

    @property
    def speedup(self) -> float:
        return self.standard_ms / self.separable_ms if self.separable_ms else math.nan

    @property
    def macs_speedup(self) -> float:
        return self.standard_macs / self.separable_macs if self.separable_macs else math.nan

    @property
    def warnings(self) -> list[str]:
        """Layers whose timings varied widely, and the advice (empty when none did)."""
        found = []
        for lt in self.layers:
            found += [f"{lt.name}: {w}" for w in spread_warnings(
                {"standard": lt.standard, "separable": lt.separable})]
        return with_advice(found)


@dataclass(frozen=True)
class _Job:
    name: str
    replaces: tuple[str, ...]
    written: Variant
    standard: tuple[Conv, ...]
    separable: tuple[Conv, ...]
    input_shape: Shape
    standard_macs: int
    separable_macs: int
    standard_intensity: float
    separable_intensity: float


def _intensity(convs: Sequence[Conv], shape: Shape, dtype: DType) -> float:
    total = Cost(output_shape=shape)
    for conv in convs:
        total = total + cost_of(conv, [shape], dtype)
        shape = total.output_shape
    return total.intensity


def _jobs(analysis: Analysis) -> list[_Job]:
    jobs = []
    for row in analysis.rows:
        alt = row.alternative
        if alt is None or not row.record.inputs:
            continue
        first, last = analysis.rows[alt.span[0]], analysis.rows[alt.span[1]]
        shape = tuple(row.record.inputs[0])
        replaces = tuple(dict.fromkeys((first.name, last.name)))
        # The core planned both forms (a lone depthwise conv is its own separable form, a
        # linear pointwise half its 1×1 conv): time exactly those convolutions.
        std_ops, sep_ops = alt.standard_convs, alt.separable_convs
        if not std_ops or not sep_ops:
            continue
        if alt.kind is Variant.SEPARABLE:
            written = Variant.STANDARD
            std_macs, sep_macs = alt.written_macs, alt.macs
        else:
            written = Variant.SEPARABLE
            std_macs, sep_macs = alt.macs, alt.written_macs
        dt = analysis.dtype
        jobs.append(_Job(row.name, replaces, written, std_ops, sep_ops, shape, std_macs,
                         sep_macs, _intensity(std_ops, shape, dt), _intensity(sep_ops, shape, dt)))
    return jobs


def count_jobs(analysis: Analysis) -> int:
    """How many layers :func:`measure_analysis` will time (for a progress bar)."""
    return len(_jobs(analysis))


def measure_analysis(analysis: Analysis, s: Settings,
                     advance: Callable[[], None] | None = None) -> ModelTiming:
    """Time every convolution that has an alternative, as written and in its other form.

    Only the convolutions are timed (normalisation and activation between a depthwise and a
    pointwise half are left out), matching the MACs the alternative replaces.
    """
    step = advance or (lambda: None)
    out: list[LayerTiming] = []
    skipped: list[str] = []
    for job in _jobs(analysis):
        try:
            got = time_interleaved({"standard": (module_for(job.standard), job.input_shape),
                                    "separable": (module_for(job.separable), job.input_shape)},
                                   s)
            std, sep = got["standard"], got["separable"]
        except (InputError, RuntimeError) as e:
            skipped.append(f"{job.name}: {first_line(e, with_type=False)}")
        else:
            out.append(LayerTiming(job.name, job.replaces, job.written, std, sep,
                                   job.standard_macs, job.separable_macs,
                                   job.standard_intensity, job.separable_intensity))
        step()
    return ModelTiming(s, tuple(out), tuple(skipped))
