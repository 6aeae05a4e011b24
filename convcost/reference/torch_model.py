"""Reference counts (fvcore, torch's counter) for a torch model, made to never sink a report.

A reference needs real weights: a model built on the meta device from a source is built again
on the cpu when its weights fit (see :func:`~convcost.reference.model.skip_reason`). After a
real run the references count that same cpu model on the same seeded inputs, so both see the
same proposals. A reference that cannot count the model is one note with its reason; the
analysis stands (``strict`` makes it an error, exit 3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.core.analysis import Analysis, Variant
from convcost.errors import AnalysisError, ConvcostError

if TYPE_CHECKING:
    from torch import nn

    from convcost.frontends.torch_inputs import Call
    from convcost.frontends.torch_run import Run
    from convcost.frontends.torch_source import Loaded


def reference_counts(
    source: Any, loaded: Loaded, run: Run, call: Call, opts: Any, analysis: Analysis,
    notes: list[str],
) -> dict[str, Any]:
    from convcost.reference.model import estimate_bytes, memory_reason, skip_reason

    rewritten = skip_reason(analysis.rewritten_as, 0)
    if rewritten:
        notes.append(rewritten)
        return {}
    memory = memory_reason(estimate_bytes(analysis))
    if memory:
        notes.append(memory)
        return {}
    from convcost.frontends.torch import is_meta

    if run.execution == "real" and is_meta(run.model):
        notes.append("reference skipped: the model is on the meta device (it has no weights)")
        return {}
    model = (run.model if run.execution == "real"
             else _real_model(source, loaded, analysis, notes, opts.kwargs))
    if model is None:
        return {}
    return _count_all(model, call, opts, analysis, notes, random=run.execution == "real")


def _real_model(
    source: Any, loaded: Loaded, analysis: Analysis, notes: list[str], kwargs: Any
) -> nn.Module | None:
    from convcost.frontends.torch import is_meta
    from convcost.frontends.torch_source import load_source
    from convcost.reference.model import skip_reason

    model = loaded.model
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
    try:
        return load_source(source, kwargs=kwargs, device="cpu").model
    except AnalysisError as err:
        notes.append(f"reference skipped: building the model with real weights failed "
                     f"({err.message})")
        return None


def make_inputs(call: Call, device: Any, *, random: bool) -> list[Any]:
    """Tensors for the call's leaves: zeros, or the seeded random numbers of a real run."""
    import torch

    from convcost.frontends.torch.execution import Execution
    from convcost.frontends.torch.execution import make_inputs as walker_inputs
    from convcost.frontends.torch_run import SEED

    if random:
        return walker_inputs(call.leaves(), Execution.REAL, device, SEED)
    return [torch.zeros(s.shape, dtype=s.torch_dtype(), device=device) for s in call.leaves()]


def _count_all(
    model: nn.Module, call: Call, opts: Any, analysis: Analysis, notes: list[str], *,
    random: bool,
) -> dict[str, Any]:
    import torch

    from convcost.core.analysis import named_macs
    from convcost.frontends.torch import eval_mode, model_device
    from convcost.frontends.torch_inputs import bound_forward
    from convcost.reference.attention import watch_attention
    from convcost.reference.failure import reason_of
    from convcost.reference.model import agreement_for, count_module

    device = model_device(model) or torch.device("cpu")
    names = named_macs(analysis, opts.depth)

    out: dict[str, Any] = {}
    for tool in opts.reference:
        inputs = make_inputs(call, device, random=random)
        try:
            with eval_mode(model), torch.no_grad(), bound_forward(model, call) as bound, \
                    watch_attention(bound) as attention:
                count = count_module(tool, bound, inputs)
        except (ConvcostError, Exception) as err:
            why = reason_of(tool, err)
            if getattr(opts, "strict", False):
                raise AnalysisError(f"--strict: the {tool} reference could not count the model: "
                                    f"{why}") from err
            notes.append(f"{tool} reference: could not count the model — {why}; "
                         "convcost's own counts stand")
            continue
        skips = {name: {"attention": macs} for name, macs in attention.items()}
        out[str(tool)] = agreement_for(tool, count, analysis, names, skips)
    return out
