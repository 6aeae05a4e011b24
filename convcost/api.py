"""The Python API: ``convcost.analyze(model_or_path, input_shape=...)``.

One entry for every source: a YAML description (``.yaml``/``.yml``), an ONNX file (``.onnx``),
a torch source (``package.module:factory``, ``file.py:Name``, TorchScript, ``.pt2``) or an
``nn.Module``. The arguments are checked here; :mod:`convcost.pipeline.run` does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convcost.core.analysis import Variant
from convcost.core.dtypes import DType
from convcost.core.sweep import SweepPoint
from convcost.errors import Context, InputError
from convcost.frontends.source_kind import is_onnx
from convcost.pipeline.run import Options, run
from convcost.reference.counts import Tool
from convcost.report.analysis import ModelReport

__all__ = ["Options", "SweepPoint", "analyze", "run", "sweep"]


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
