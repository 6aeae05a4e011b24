"""One call from a torch model (or a source string) to a core :class:`Analysis`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from convcost.core.analysis import Analysis, Variant, analyze_records
from convcost.core.dtypes import DType
from convcost.errors import Context, InputError

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
    execution: str = "auto",
) -> Analysis:
    """Analyse a torch model for inputs of ``input_shape``.

    ``model_or_source``: an ``nn.Module`` or a source for
    :func:`~convcost.frontends.torch_source.load_model` (``kwargs`` and ``device`` go there).
    ``input_shape``: ``"1,3,224,224"``, ``"1,128:int64"``, a shape tuple, or several shapes;
    ``dtype`` is the default element type of inputs that do not name one.
    ``analysis.extra`` holds ``params_unique`` (every unique parameter, read from the model),
    ``params_uncovered`` (parameters no costed record used), ``ignored_ops``, ``source``,
    ``execution`` (how the forward ran: meta, fake or real) and ``data_dependent_ops``.
    """
    from torch import nn

    from convcost.frontends.torch import walk
    from convcost.frontends.torch_source import as_input_specs, load_model

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
    result = walk(model, specs, grad=grad, execution=execution)
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
        "execution": result.execution,
        "data_dependent_ops": list(result.data_dependent),
    }
    return replace(analysis, extra=extra)




def analyze_torch(source: Any, opts: Any) -> tuple[Analysis, dict[str, Any], list[str]]:
    """Adapter for ``convcost.api``: (analysis, reference agreements by tool, notes).

    ``opts`` is ``convcost.api.Options`` (read by attribute: inputs, dtype, rewrite_as,
    reference, kwargs, depth). References (fvcore, torch's FlopCounterMode) need real weights:
    a meta model given as a source string is built again on the cpu for them when its weights
    fit in ``convcost.reference.model.MAX_REFERENCE_WEIGHT_BYTES``; otherwise they are skipped
    with a note.
    """
    from torch import nn

    from convcost.frontends.torch_source import load_model
    from convcost.reference.model import skip_reason

    model = source if isinstance(source, nn.Module) else load_model(
        str(source), kwargs=opts.kwargs
    )
    if not opts.inputs:
        raise InputError("a torch model needs an input shape, e.g. --input 1,3,224,224",
                         Context(flag="--input"))
    dtype = str(opts.dtype)
    analysis = analyze_model(
        model, list(opts.inputs), dtype=dtype, rewrite_as=Variant(opts.rewrite_as),
        name=source if isinstance(source, str) else None,
    )
    notes: list[str] = []
    reference: dict[str, Any] = {}
    if not opts.reference:
        return analysis, reference, notes
    rewritten = skip_reason(analysis.rewritten_as, 0)
    if rewritten:
        notes.append(rewritten)
        return analysis, reference, notes
    real = _real_model(source, model, opts, analysis, notes)
    if real is not None:
        reference = _references(real, opts, analysis, notes)
    return analysis, reference, notes


def _real_model(
    source: Any, model: nn.Module, opts: Any, analysis: Analysis, notes: list[str]
) -> nn.Module | None:
    from convcost.frontends.torch import is_meta
    from convcost.frontends.torch_source import load_model
    from convcost.reference.model import estimate_bytes, memory_reason, skip_reason

    memory = memory_reason(estimate_bytes(analysis))
    if memory:
        notes.append(memory)
        return None
    if not is_meta(model) or not any(True for _ in model.parameters()):
        return model
    params = int(analysis.extra.get("params_unique", 0) or 0)  # type: ignore[call-overload]
    if not isinstance(source, str):
        notes.append("reference skipped: the model is on the meta device (it has no weights)")
        return None
    too_large = skip_reason(Variant.AS_WRITTEN, params)
    if too_large:
        notes.append(too_large)
        return None
    return load_model(source, kwargs=opts.kwargs, device="cpu")


def _references(
    model: nn.Module, opts: Any, analysis: Analysis, notes: list[str]
) -> dict[str, Any]:
    import torch

    from convcost.errors import AnalysisError, ConvcostError
    from convcost.frontends.torch import eval_mode, model_device
    from convcost.frontends.torch_source import first_line
    from convcost.reference.model import agreement_for, count_module
    from convcost.report.analysis import lines_of

    device = model_device(model) or torch.device("cpu")
    inputs = [torch.zeros(s.shape, dtype=s.torch_dtype(), device=device) for s in opts.inputs]
    names = [(line.name, line.cost.macs) for line in lines_of(analysis, opts.depth)]
    out: dict[str, Any] = {}
    for tool in opts.reference:
        try:
            with eval_mode(model), torch.no_grad():
                count = count_module(tool, model, inputs)
        except ConvcostError:
            raise
        except Exception as err:
            raise AnalysisError(f"the {tool} reference failed: {first_line(err)}") from err
        out[str(tool)] = agreement_for(tool, count, analysis, names)
    return out
