"""The one place that runs an analysis for every source: it refuses the options that do not
apply, reads the source with its front-end (YAML, ONNX, torch), costs it, holds it against the
reference counters and returns the report. The CLI, budgets, diff and the Python API all call
:func:`run`; the front-ends below it only read sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.core.analysis import Analysis, Variant, analyze_read, named_macs
from convcost.core.dtypes import DType
from convcost.errors import AnalysisError, Context, InputError, UncountedOpsError
from convcost.frontends.source_kind import is_onnx, is_yaml
from convcost.reference.counts import Tool
from convcost.report.analysis import ModelReport
from convcost.report.collect import few_collections

if TYPE_CHECKING:
    from convcost.budget.spec import Check


@dataclass(frozen=True)
class Options:
    """What was asked for one analysis; ``None`` (or empty) where nothing was given, so that
    a given value -- even the default's -- always applies, and one that does not apply to the
    source is refused (:mod:`convcost.pipeline.applicable`)."""

    inputs: tuple[Any, ...] = ()
    """torch inputs as ``InputSpec`` (shape with batch, dtype), tuples of them or plain values;
    YAML carries its own."""
    input_kwargs: dict[str, Any] | None = None
    """torch keyword inputs by name (values as in ``inputs``)."""
    execute: bool = True
    """Allow one real run on the cpu when the forward cannot run without data."""
    dtype: DType | None = None
    """Element type of memory traffic; None: the source's own (YAML ``dtype:``, the model's
    parameters), else float32."""
    batch: int | None = None
    width_mult: float | None = None
    resolution: int | None = None
    """YAML only (None: not given); a torch or ONNX source refuses them."""
    rewrite_as: Variant = Variant.AS_WRITTEN
    reference: tuple[Tool, ...] = ()
    kwargs: dict[str, Any] | None = None
    depth: int | None = None
    strict: bool = False




def run(source: Any, opts: Options) -> ModelReport:
    from convcost.pipeline.applicable import Given, refuse_inapplicable

    refuse_inapplicable(source, Given(
        inputs=bool(opts.inputs or opts.input_kwargs), kwargs=opts.kwargs is not None,
        width_mult=opts.width_mult, resolution=opts.resolution, batch=opts.batch))
    if Tool.ONNX_TOOL in opts.reference and not is_onnx(source):
        raise InputError("onnx-tool counts ONNX files only; use fvcore or torch here",
                         Context(flag="--reference"))
    with few_collections():
        if is_yaml(source):
            return _yaml(str(source), opts)
        if is_onnx(source):
            return _onnx(str(source), opts)
        return _torch(source, opts)


def _onnx(path: str, opts: Options) -> ModelReport:
    analysis, reference, notes = analyze_onnx(path, opts)
    _check_strict(analysis, opts)
    return ModelReport(analysis, reference, tuple(notes), opts.depth, path)


def _check_strict(analysis: Analysis, opts: Options) -> None:
    if opts.strict and analysis.lower_bound:
        ops = ", ".join(f"{u.op} ×{u.count}" for u in analysis.uncounted)
        raise UncountedOpsError(f"--strict: the model ran ops convcost does not cost: {ops}")


def _yaml(path: str, opts: Options) -> ModelReport:
    from convcost.frontends.yaml_records import read_spec
    from convcost.frontends.yaml_spec import load_spec

    batch = 1 if opts.batch is None else opts.batch
    if batch < 1:
        raise InputError(f"must be a positive integer, got {batch}", Context(flag="--batch"))
    spec = load_spec(path, width_mult=1.0 if opts.width_mult is None else opts.width_mult,
                     resolution=opts.resolution)
    analysis = analyze_read(read_spec(spec, batch=batch), rewrite_as=opts.rewrite_as,
                            dtype=opts.dtype)
    _check_strict(analysis, opts)
    notes: list[str] = []
    reference = {}
    if opts.reference:
        from convcost.reference.model import estimate_bytes, memory_reason, skip_reason

        reason = skip_reason(analysis.rewritten_as, analysis.totals.params) or \
            memory_reason(estimate_bytes(analysis))
        if reason:
            notes.append(reason)
        else:
            reference = _yaml_reference(spec, analysis, opts)
    return ModelReport(analysis, reference, tuple(notes), opts.depth, path)


def _yaml_reference(spec: Any, analysis: Analysis, opts: Options) -> dict[str, Any]:
    import torch

    from convcost.build.network import build_module
    from convcost.reference.model import agreement_for, count_module

    module = build_module(spec).eval()
    x = torch.zeros((opts.batch or 1, *spec.input_shape))
    names = named_macs(analysis, opts.depth)
    return {
        str(tool): agreement_for(tool, count_module(tool, module, (x,)), analysis, names)
        for tool in opts.reference
    }


def _torch(source: Any, opts: Options) -> ModelReport:
    analysis, reference, notes = analyze_torch(source, opts)
    _check_strict(analysis, opts)
    return ModelReport(analysis, reference, tuple(notes), opts.depth,
                       source if isinstance(source, str) else type(source).__name__)


def analyze_onnx(source: Any, opts: Options) -> tuple[Analysis, dict[str, Any], list[str]]:
    """An ONNX file: (analysis, reference agreements by tool, notes)."""
    from convcost.frontends.onnx_api import read_onnx_file
    from convcost.reference.model import skip_reason
    from convcost.reference.onnx_tool_count import NO_REFERENCE, onnx_tool_count

    read, graph, result = read_onnx_file(str(source), opts.inputs)
    analysis = analyze_read(read, rewrite_as=Variant(opts.rewrite_as), dtype=opts.dtype)
    notes: list[str] = []
    reference: dict[str, Any] = {}
    if not opts.reference:
        return analysis, reference, notes
    reason = skip_reason(analysis.rewritten_as, analysis.totals.params)
    if reason:
        return analysis, reference, [reason]
    try:
        count = onnx_tool_count(graph, result)
    except AnalysisError as err:  # an optional counter's failure does not stop the analysis
        return analysis, reference, [f"reference skipped: {err.message}"]
    if count is None:
        return analysis, reference, [NO_REFERENCE]
    from convcost.reference.model import agreement_for
    names = named_macs(analysis, opts.depth)
    reference[str(Tool.ONNX_TOOL)] = agreement_for(Tool.ONNX_TOOL, count, analysis, names)
    return analysis, reference, notes


def analyze_torch(source: Any, opts: Options) -> tuple[Analysis, dict[str, Any], list[str]]:
    """A torch source or model: (analysis, reference agreements by tool, notes).

    ``opts`` is :class:`Options` (inputs, input_kwargs, dtype,
    rewrite_as, reference, kwargs, depth, strict, execute). References (fvcore, torch's
    FlopCounterMode) need real weights: a meta model given as a source string is built again on
    the cpu for them when its weights fit in memory; otherwise they are skipped with a note. A
    reference that cannot count the model is a note too (an error only under ``strict``).
    """
    from torch import nn

    from convcost.frontends.torch_api import call_for, read_model, with_heads
    from convcost.frontends.torch_build import Built, describe_build
    from convcost.frontends.torch_source import Loaded, load_source
    from convcost.reference.torch_model import reference_counts

    if isinstance(source, nn.Module):
        loaded = Loaded(source, Built(source, "instance"))
    else:
        loaded = load_source(str(source), kwargs=opts.kwargs)
    call, input_note = call_for(loaded, tuple(opts.inputs), opts.input_kwargs,
                                str(opts.dtype or DType.FLOAT32))
    notes: list[str] = [input_note] if input_note else []
    build_note = describe_build(loaded.built)
    if build_note:
        notes.append(build_note)
    read, ran = read_model(
        loaded, call, source if isinstance(source, str) else type(source).__name__,
        source if isinstance(source, str) else None, opts.kwargs, False, opts.execute,
    )
    analysis = with_heads(
        analyze_read(read, rewrite_as=Variant(opts.rewrite_as), dtype=opts.dtype), ran)
    notes += ran.notes
    if "heads" in analysis.extra:
        from convcost.frontends.torch_heads import describe_heads

        notes.append(describe_heads(analysis.extra["heads"]))  # type: ignore[arg-type]
    reference: dict[str, Any] = {}
    if opts.reference:
        reference = reference_counts(source, loaded, ran, call, opts, analysis, notes)
    return analysis, reference, notes


def analyze_check(check: Check) -> Analysis:
    """A budget check's model: counts only (no reference counter), its inputs and kwargs."""
    opts = Options(inputs=check.inputs, kwargs=dict(check.kwargs) if check.kwargs else None,
                   reference=())
    return run(check.source, opts).analysis
