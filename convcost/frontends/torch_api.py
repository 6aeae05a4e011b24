"""One call from a torch model (or a source string) to a core :class:`Analysis`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from convcost.core.analysis import Analysis, Variant, analyze_records
from convcost.core.dtypes import DType
from convcost.errors import InputError

if TYPE_CHECKING:
    from torch import nn

    from convcost.frontends.torch_source import InputSpec


def _compute_dtype(model: nn.Module, specs: Sequence[InputSpec]) -> DType:
    """The dtype memory traffic is counted in: the first floating parameter's, else the first
    floating input's, else float32."""
    import torch

    names = [str(p.dtype).removeprefix("torch.") for p in model.parameters()
             if p.dtype.is_floating_point]
    names += [s.dtype for s in specs if getattr(torch, s.dtype).is_floating_point]
    for name in names:
        try:
            return DType(name)
        except ValueError:
            continue
    return DType.FLOAT32


def analyze_model(
    model_or_source: nn.Module | str,
    input_shape: str | Sequence[int] | Sequence[Sequence[int]] | Sequence[InputSpec] = (),
    *,
    dtype: str = "float32",
    kwargs: Mapping[str, Any] | None = None,
    name: str | None = None,
    rewrite_as: Variant = Variant.AS_WRITTEN,
    grad: bool = False,
    device: str = "meta",
) -> Analysis:
    """Analyse a torch model for inputs of ``input_shape``.

    ``model_or_source``: an ``nn.Module`` or a source for
    :func:`~convcost.frontends.torch_source.load_model` (``kwargs`` and ``device`` go there).
    ``input_shape``: ``"1,3,224,224"``, ``"1,128:int64"``, a shape tuple, or several shapes;
    ``dtype`` is the default element type of inputs that do not name one.
    ``analysis.extra`` holds ``params_unique`` (every unique parameter, read from the model),
    ``params_uncovered`` (parameters no costed record used), ``ignored_ops`` and ``source``.
    """
    from torch import nn

    from convcost.frontends.torch_source import as_input_specs, load_model
    from convcost.frontends.torch_walk import walk

    if isinstance(model_or_source, str):
        model = load_model(model_or_source, kwargs=kwargs, device=device)
        label = name or model_or_source
    elif isinstance(model_or_source, nn.Module):
        if kwargs:
            raise InputError("kwargs apply only when the model is given as a source string")
        model = model_or_source
        label = name or type(model).__name__
    else:
        raise InputError(f"expected an nn.Module or a source string, got "
                         f"{type(model_or_source).__name__}")
    specs = as_input_specs(input_shape, dtype=dtype)
    result = walk(model, specs, grad=grad)
    analysis = analyze_records(
        result.records,
        name=label,
        input_shapes=result.input_shapes,
        dtype=_compute_dtype(model, specs),
        rewrite_as=rewrite_as,
        uncounted=result.uncounted,
        buffers_total=result.buffers,
    )
    extra = {
        **analysis.extra,
        "frontend": "torch",
        "params_unique": result.params_unique,
        "params_uncovered": list(result.params_uncovered),
        "ignored_ops": dict(result.ignored),
        "input_dtypes": [s.dtype for s in specs],
    }
    return replace(analysis, extra=extra)
