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

from convcost.errors import AnalysisError, ConvcostError

if TYPE_CHECKING:
    from torch import nn

    from convcost.frontends.torch_inputs import Call
    from convcost.frontends.torch_source import Loaded
    from convcost.frontends.torch import TorchWalk

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


def _is_meta(model: nn.Module) -> bool:
    from convcost.frontends.torch import is_meta as meta

    return meta(model)


def _execution_of(result: Any, default: str) -> tuple[str, tuple[str, ...]]:
    execution = getattr(result, "execution", None) or default
    ops = getattr(result, "data_dependent", None) or getattr(result, "data_dependent_ops", None)
    return str(execution), tuple(str(o) for o in (ops or ()))


def walk_call(model: nn.Module, call: Call, execution: str, grad: bool = False) -> TorchWalk:
    """The walker over ``call`` (nested and keyword inputs bound onto ``forward``)."""
    import inspect

    from convcost.frontends.torch_inputs import bound_forward
    from convcost.frontends.torch import walk

    leaves = call.leaves()
    with bound_forward(model, call) as bound:
        if "execution" in inspect.signature(walk).parameters:
            return walk(bound, leaves, grad=grad, execution=execution)  # type: ignore[call-arg]
        return walk(bound, leaves, grad=grad)


def run_forward(
    loaded: Loaded, call: Call, *, source: str | None, kwargs: Mapping[str, Any] | None,
    grad: bool = False, execute: bool = True,
) -> Run:
    model = loaded.model
    meta = _is_meta(model)
    first = "meta" if meta else "fake"
    try:
        result = walk_call(model, call, first if not execute else "auto", grad)
    except ConvcostError as err:
        if not isinstance(err, AnalysisError) or "forward failed" not in err.message:
            raise
        failure = err
    else:
        execution, ops = _execution_of(result, first)
        return Run(result, model, execution, ops, heads=_has_heads(model))
    reason = failure.message.split(": ", 1)[-1] if ": " in failure.message else failure.message
    if not execute:
        raise AnalysisError(
            f"the forward cannot run without data ({reason}); it needs one real run on the cpu, "
            "which --no-execute forbids"
        ) from failure
    real = _real_model(loaded, model, meta, source, kwargs, reason)
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        result = walk_call(real, call, "real", grad)
    execution, ops = _execution_of(result, "real")
    note = ("counted from one real run on the cpu with seeded random inputs"
            + (" and random weights" if real is not model else "")
            + (f": the forward runs data-dependent ops ({', '.join(ops)})" if ops
               else f": the forward cannot run without data ({reason})"))
    return Run(result, real, "real", ops, [note], heads=_has_heads(real))


def _real_model(
    loaded: Loaded, model: nn.Module, meta: bool, source: str | None,
    kwargs: Mapping[str, Any] | None, reason: str,
) -> nn.Module:
    import torch

    from convcost.frontends.torch_build import BYTES_PER_PARAM, check_fits
    from convcost.frontends.torch_source import load_source

    if not meta or not any(True for _ in model.parameters()):
        return model
    if source is None:
        raise AnalysisError(
            f"the forward cannot run without data ({reason}) and the model is on the meta "
            "device (no weights): give it on the cpu, or as a source string"
        )
    params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    buffers = sum(b.numel() for b in {id(b): b for b in model.buffers()}.values())
    check_fits(source, (params + buffers) * BYTES_PER_PARAM,
               "must run for real (its forward is data-dependent)")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        real = load_source(source, kwargs=kwargs, device="cpu").model
    return real


def _has_heads(model: nn.Module) -> bool:
    return any(name.endswith(("box_head", "mask_head", "keypoint_head"))
               for name, _ in model.named_modules())


def real_inputs(specs: Any, device: Any) -> list[Any]:
    """Seeded random tensors for a real run (call under a fixed seed): floats from N(0, 1),
    integers (token ids, indices) 0, booleans (masks) True."""
    import torch

    out = []
    for s in specs:
        dtype = s.torch_dtype()
        if dtype.is_floating_point:
            out.append(torch.randn(s.shape, dtype=dtype, device=device))
        elif dtype is torch.bool:
            out.append(torch.ones(s.shape, dtype=dtype, device=device))
        else:
            out.append(torch.zeros(s.shape, dtype=dtype, device=device))
    return out
