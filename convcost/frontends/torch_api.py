"""One call from a torch model (or a source string) to a core :class:`Analysis`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from convcost.core.analysis import Analysis, Variant, analyze_read
from convcost.core.dtypes import DType
from convcost.core.records import SourceRead
from convcost.errors import Context, InputError

if TYPE_CHECKING:
    from torch import nn

    from convcost.frontends.torch_inputs import Call
    from convcost.frontends.torch_run import Run
    from convcost.frontends.torch_source import InputSpec, Loaded


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
    input_shape: Any = (),
    *,
    dtype: str = "float32",
    kwargs: Mapping[str, Any] | None = None,
    name: str | None = None,
    rewrite_as: Variant = Variant.AS_WRITTEN,
    grad: bool = False,
    device: str = "meta",
    inputs: Mapping[str, Any] | None = None,
    execute: bool = True,
    execution: str = "auto",
) -> Analysis:
    """Analyse a torch model for inputs of ``input_shape``.

    ``model_or_source``: an ``nn.Module`` or a source for
    :func:`~convcost.frontends.torch_source.load_model` (``kwargs`` and ``device`` go there).
    ``input_shape``: ``"1,3,224,224"``, ``"1,128:int64"``, a shape tuple, several shapes, or a
    structure of shapes, tuples and plain values (see :mod:`convcost.frontends.torch_inputs`);
    ``inputs`` names keyword inputs (``{"attention_mask": (1, 128)}``). Without either, a zoo
    source (``torchvision:``, ``timm:``, ``hf:``) takes the input its metadata names.
    ``dtype`` is the default element type of inputs that do not name one. ``execute=False``
    forbids the real run a data-dependent forward needs; ``execution`` (``meta``, ``fake``,
    ``real``) runs the forward that way only, with no fallback (``auto``: meta or fake, then one
    real run if the forward needs data).
    ``analysis.extra`` holds ``params_unique`` (every unique parameter, read from the model),
    ``params_uncovered`` (parameters no costed record used), ``ignored_ops``, ``execution``,
    ``build`` and ``source``.
    """
    from torch import nn

    from convcost.frontends.torch_build import Built
    from convcost.frontends.torch_source import Loaded, load_source

    if isinstance(model_or_source, str):
        loaded = load_source(model_or_source, kwargs=kwargs, device=device)
        label = name or model_or_source
    elif isinstance(model_or_source, nn.Module):
        if kwargs:
            raise InputError("kwargs apply only when the model is given as a source string")
        loaded = Loaded(model_or_source, Built(model_or_source, "instance"))
        label = name or type(model_or_source).__name__
    else:
        raise InputError(f"expected an nn.Module or a source string, got "
                         f"{type(model_or_source).__name__}")
    call, _ = call_for(loaded, input_shape, inputs, dtype)
    source = model_or_source if isinstance(model_or_source, str) else None
    analysis, _ = analyse(loaded, call, label, source, kwargs, rewrite_as, grad, execute,
                           execution)
    return analysis


def call_for(
    loaded: Loaded, given: Any, keywords: Mapping[str, Any] | None, dtype: str
) -> tuple[Call, str]:
    """The call to run, and a note saying where a default input came from ('' if given)."""
    from convcost.frontends.torch_inputs import Call, as_call
    from convcost.frontends.torch_source import InputSpec, parse_dtype

    default = parse_dtype(dtype)
    if isinstance(given, str):
        from convcost.frontends.torch_inputs import parse_call

        call = parse_call([given], dtype=default)
        call = Call(call.args, {**call.kwargs, **as_call((), keywords).kwargs})
    else:
        call = as_call(given, keywords)
        if default != "float32":
            call = Call(tuple(_retype(a, default) for a in call.args),
                        {k: _retype(v, default) for k, v in call.kwargs.items()})
    if not call.empty:
        return call, ""
    zoo = loaded.zoo
    if zoo is None or (not zoo.inputs and not zoo.kw_inputs):
        raise InputError("a torch model needs an input shape, e.g. --input 1,3,224,224",
                         Context(flag="--input"))
    call = Call(tuple(zoo.inputs), dict(zoo.kw_inputs))
    if default != "float32":
        call = Call(tuple(InputSpec(s.shape, default) if s.dtype == "float32" else s
                          for s in zoo.inputs), dict(zoo.kw_inputs))
    return call, f"input {call.describe()}: {zoo.input_note}"


def _retype(value: Any, dtype: str) -> Any:
    from convcost.frontends.torch_source import InputSpec

    if isinstance(value, InputSpec) and value.dtype == "float32":
        return InputSpec(value.shape, dtype)
    return value


def analyse(
    loaded: Loaded, call: Call, label: str, source: str | None, kwargs: Mapping[str, Any] | None,
    rewrite_as: Variant, grad: bool, execute: bool, execution: str = "auto",
    bytes_dtype: DType | None = None,
) -> tuple[Analysis, Run]:
    """The model read (:func:`read_model`), costed, and its heads named."""
    read, run = read_model(loaded, call, label, source, kwargs, grad, execute, execution)
    analysis = analyze_read(read, rewrite_as=rewrite_as, dtype=bytes_dtype)
    return with_heads(analysis, run), run


def read_model(
    loaded: Loaded, call: Call, label: str, source: str | None, kwargs: Mapping[str, Any] | None,
    grad: bool, execute: bool, execution: str = "auto",
) -> tuple[SourceRead, Run]:
    """Run the model's forward once (meta, fake or real) and record every op it ran, with what
    the run tells of the model (unique parameters, how it was built and run)."""
    from convcost.frontends.torch_run import run_forward

    run = run_forward(loaded, call, source=source, kwargs=kwargs, grad=grad, execute=execute,
                      execution=execution)
    result = run.walk
    specs = call.leaves()
    extra: dict[str, object] = {
        "frontend": "torch",
        "params_unique": result.params_unique,
        "params_uncovered": list(result.params_uncovered),
        "ignored_ops": dict(result.ignored),
        "input_dtypes": [s.dtype for s in specs],
        "inputs": call.describe(),
        "build": loaded.built.build,
        "execution": run.execution,
        "data_dependent_ops": list(run.data_dependent),
    }
    if loaded.built.reason:
        extra["build_reason"] = loaded.built.reason
    if loaded.zoo is not None and loaded.zoo.published:
        extra["published"] = dict(loaded.zoo.published)
    read = SourceRead(label, tuple(result.records), tuple(result.input_shapes),
                      _compute_dtype(run.model, specs), tuple(result.uncounted),
                      result.buffers, extra)
    return read, run


def with_heads(analysis: Analysis, run: Run) -> Analysis:
    """A detector's or multi-head model's costed heads, named in ``extra["heads"]``."""
    if not run.heads:
        return analysis
    from convcost.frontends.torch_heads import head_costs, unreached_heads

    heads = head_costs(analysis)
    heads.update(unreached_heads(run.model, heads))
    if not heads:
        return analysis
    return replace(analysis, extra={**analysis.extra, "heads": heads})
