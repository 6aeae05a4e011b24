"""The Python API: ``convcost.analyze(model_or_path, input_shape=...)``.

One entry for every source: a YAML description (``.yaml``/``.yml``), an ONNX file (``.onnx``),
a torch source (``package.module:factory``, ``file.py:Name``, TorchScript, ``.pt2``) or an
``nn.Module``.
The source's form decides the front-end; the core and the report are the same for all.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from convcost.core.analysis import Analysis, Variant
from convcost.core.dtypes import DType
from convcost.core.sweep import SweepPoint
from convcost.errors import Context, InputError, UncountedOpsError
from convcost.frontends.source_kind import is_onnx, is_yaml
from convcost.reference.counts import Tool
from convcost.report.analysis import ModelReport, lines_of


@dataclass(frozen=True)
class Options:
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




def analyze(
    model_or_path: Any,
    *,
    input_shape: Sequence[int] | str | None = None,
    input_shapes: Sequence[Any] | Mapping[str, Sequence[int]] | None = None,
    dtype: DType | str | None = None,
    batch: int | None = None,
    width_mult: float | None = None,
    resolution: int | None = None,
    rewrite_as: Variant | str = Variant.AS_WRITTEN,
    reference: Sequence[Tool | str] = (),
    kwargs: dict[str, Any] | None = None,
    depth: int | None = None,
    strict: bool = False,
    inputs: dict[str, Any] | None = None,
    execute: bool = True,
) -> ModelReport:
    """Analyse a model; returns a report with ``totals``, ``layers``, ``to_dict()``, ``to_json()``.

    ``input_shape`` includes the batch dimension for torch models (``(1, 3, 224, 224)``); a YAML
    description carries its own input shape. ``input_shapes`` lists positional inputs, each a
    shape, a tuple of shapes (``((1, 1, 20), (1, 1, 20))`` for ``(h0, c0)``) or a plain value;
    ``inputs`` names keyword inputs (``{"input_ids": "1,128:int64"}``). A zoo source
    (``torchvision:resnet50``, ``timm:efficientnet_b0``, ``hf:gpt2``) without inputs takes the
    input its metadata names. ``execute=False`` forbids the one real run on the cpu that a
    data-dependent forward (detectors, ``.item()``) needs.
    """
    from dataclasses import replace

    from convcost.api_checks import checked_options
    from convcost.frontends.torch_inputs import as_call

    onnx = is_onnx(model_or_path) or isinstance(input_shapes, Mapping)
    opts = checked_options(
        input_shape=input_shape if onnx else None, input_shapes=input_shapes if onnx else None,
        dtype=dtype, batch=batch, width_mult=width_mult, resolution=resolution,
        rewrite_as=rewrite_as, reference=reference, kwargs=kwargs, depth=depth, strict=strict,
    )
    if onnx:  # ONNX inputs are shapes, positional or by name
        return run(model_or_path, opts)
    if inputs is not None and not isinstance(inputs, dict):
        raise InputError(f"expected a dict of keyword inputs, got {type(inputs).__name__}",
                         Context(key="inputs"))
    try:
        call = as_call(list(input_shapes), inputs) if input_shapes else as_call(
            input_shape if input_shape else (), inputs)
    except (TypeError, ValueError):
        raise InputError("expected a shape such as (1, 3, 224, 224)",
                         Context(key="input_shape")) from None
    opts = replace(opts, inputs=call.args, input_kwargs=dict(call.kwargs) or None,
                   execute=bool(execute))
    return run(model_or_path, opts)


@contextmanager
def few_collections() -> Iterator[None]:
    """Python's cyclic collector, run rarely: an analysis allocates many small long-lived
    objects (records, costs, rows) and frees few, and the default thresholds make the
    collector rescan them over and over (+55% at 100,000 layers). The CLI sets the same."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_THRESHOLD[0]), *GC_THRESHOLD[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


GC_THRESHOLD = (100_000, 50, 100)


def run(source: Any, opts: Options) -> ModelReport:
    from convcost.pipeline.applicable import Given, refuse_inapplicable

    refuse_inapplicable(source, Given(
        inputs=bool(opts.inputs or opts.input_kwargs), kwargs=bool(opts.kwargs),
        width_mult=opts.width_mult,
        resolution=opts.resolution, batch=opts.batch))
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
    from convcost.frontends.onnx_api import analyze_onnx

    analysis, reference, notes = analyze_onnx(path, opts)
    _check_strict(analysis, opts)
    return ModelReport(analysis, reference, tuple(notes), opts.depth, path)


def _check_strict(analysis: Analysis, opts: Options) -> None:
    if opts.strict and analysis.lower_bound:
        ops = ", ".join(f"{u.op} ×{u.count}" for u in analysis.uncounted)
        raise UncountedOpsError(f"--strict: the model ran ops convcost does not cost: {ops}")


def _names_macs(analysis: Analysis, depth: int | None) -> list[tuple[str, int]]:
    return [(line.name, line.cost.macs) for line in lines_of(analysis, depth)]


def _yaml(path: str, opts: Options) -> ModelReport:
    from convcost.frontends.yaml_records import analyze_spec
    from convcost.frontends.yaml_spec import load_spec
    from convcost.reference.model import estimate_bytes, memory_reason, skip_reason

    batch = 1 if opts.batch is None else opts.batch
    if batch < 1:
        raise InputError(f"must be a positive integer, got {batch}", Context(flag="--batch"))
    spec = load_spec(path, width_mult=1.0 if opts.width_mult is None else opts.width_mult,
                     resolution=opts.resolution)
    analysis = analyze_spec(spec, batch=batch, rewrite_as=opts.rewrite_as, dtype=opts.dtype)
    _check_strict(analysis, opts)
    notes: list[str] = []
    reference = {}
    if opts.reference:
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
    names = _names_macs(analysis, opts.depth)
    return {
        str(tool): agreement_for(tool, count_module(tool, module, (x,)), analysis, names)
        for tool in opts.reference
    }


def _torch(source: Any, opts: Options) -> ModelReport:
    from convcost.frontends.torch_api import analyze_torch

    analysis, reference, notes = analyze_torch(source, opts)
    _check_strict(analysis, opts)
    return ModelReport(analysis, reference, tuple(notes), opts.depth,
                       source if isinstance(source, str) else type(source).__name__)


def sweep(
    path: str,
    width_mults: Sequence[float],
    resolutions: Sequence[int],
    *,
    batch: int = 1,
    on_point: Any = None,
) -> list[SweepPoint]:
    """MobileNet's width × resolution grid for a YAML description (the paper's Tables 6, 7)."""
    from convcost.pipeline.sweep import sweep_grid

    return list(sweep_grid(path, width_mults, resolutions, batch=batch,
                           on_point=on_point).points)
