"""Run one forward for the walker: without data when it can, for real when it must.

The walker first runs the forward on the meta device (a model built on meta) or on fake tensors
(a model with real weights); neither computes a value. A forward whose control flow or shapes
depend on values — a detector's ``nonzero`` and ``nms``, ``.item()``, a branch on a tensor —
cannot run that way. Then, unless forbidden (``execute=False``, ``--no-execute``), it runs once
for real on the cpu: a model given with weights runs on them; a model built on meta from a
source is built again on the cpu with random weights (seed 0) when its weights fit in memory.
Inputs of a real run are seeded random numbers. The report then says the count came from one
real run, and which data-dependent ops made it so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.errors import AnalysisError

if TYPE_CHECKING:
    from torch import nn

    from convcost.frontends.torch import TorchWalk
    from convcost.frontends.torch_inputs import Call
    from convcost.frontends.torch_source import Loaded

SEED = 0
"""The seed of a real run's random weights and inputs."""


@dataclass(frozen=True)
class Run:
    walk: TorchWalk
    model: Any
    """The module that ran (the cpu copy after a real run from a meta build)."""
    execution: str
    """``meta``, ``fake`` or ``real``."""
    data_dependent: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    heads: bool = False
    """The count came from a real run of a model with per-proposal heads (detectors)."""


def is_meta(model: nn.Module) -> bool:
    from convcost.frontends.torch import is_meta as meta

    return meta(model)


def walk_call(model: nn.Module, call: Call, execution: str, grad: bool = False) -> TorchWalk:
    """The walker over ``call`` (nested and keyword inputs bound onto ``forward``)."""
    from convcost.frontends import torch_quantized
    from convcost.frontends.torch import walk
    from convcost.frontends.torch_inputs import bound_forward

    torch_quantized.register()
    with bound_forward(model, call) as bound:
        return walk(bound, call.leaves(), grad=grad, execution=execution, seed=SEED)


def run_forward(
    loaded: Loaded, call: Call, *, source: str | None, kwargs: Mapping[str, Any] | None,
    grad: bool = False, execute: bool = True, execution: str = "auto",
) -> Run:
    from convcost.frontends.torch.execution import execution_of
    from convcost.frontends.torch.harness import DataDependentError

    model = loaded.model
    if str(execution_of(execution)) != "auto":  # asked for: that mode only
        if str(execution_of(execution)) == "real" and not execute:
            raise AnalysisError("execution 'real' runs the model, which execute=False forbids")
        result = walk_call(model, call, str(execution_of(execution)), grad)
        return Run(result, model, result.execution, result.data_dependent,
                   heads=_has_heads(model))
    try:
        result = walk_call(model, call, "auto", grad)
    except AnalysisError as err:
        if "forward failed" not in err.message:
            raise
        failure = err
    else:
        return Run(result, model, result.execution, result.data_dependent,
                   heads=_has_heads(model))
    ops = failure.ops if isinstance(failure, DataDependentError) else ()
    if not execute:
        why = f"it reads data ({', '.join(ops)})" if ops else "it failed without data"
        raise AnalysisError(
            f"the forward cannot run on meta or fake tensors: {why}; it needs one real run on "
            f"the cpu, which --no-execute forbids ({failure.message})"
        ) from failure
    real = _real_model(model, source, kwargs, failure.message)
    try:
        result = walk_call(real, call, "real", grad)
    except AnalysisError as err:
        if not isinstance(failure, DataDependentError):
            raise failure from err  # the first failure says more
        raise
    ops = result.data_dependent or ops
    random_weights = real is not model or is_meta(model)
    note = ("counted from one real run on the cpu with seeded random inputs"
            + (" and random weights" if random_weights else "")
            + (f": the forward runs data-dependent ops ({', '.join(ops)})" if ops
               else f": it cannot run without data ({failure.message.split(': ', 1)[-1]})"))
    return Run(result, real, "real", tuple(ops), [note], heads=_has_heads(real))


def _real_model(
    model: nn.Module, source: str | None, kwargs: Mapping[str, Any] | None, reason: str,
) -> nn.Module:
    """The model to run for real: itself when it has weights (the walker runs on clones), a
    cpu build with the constructor's random weights (seed 0) when built on meta from a source,
    else itself (the walker gives a meta model random weights)."""
    import torch

    from convcost.frontends.torch_build import BYTES_PER_PARAM, check_fits
    from convcost.frontends.torch_source import load_source

    if not is_meta(model) or not any(True for _ in model.parameters()):
        return model
    params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    buffers = sum(b.numel() for b in {id(b): b for b in model.buffers()}.values())
    check_fits(source or type(model).__name__, 2 * (params + buffers) * BYTES_PER_PARAM,
               "must run for real (its forward reads data)")
    if source is None:
        return model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        return load_source(source, kwargs=kwargs, device="cpu").model


def _has_heads(model: nn.Module) -> bool:
    return any(name.endswith(("box_head", "mask_head", "keypoint_head"))
               for name, _ in model.named_modules())
