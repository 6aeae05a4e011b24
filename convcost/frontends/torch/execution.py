"""How the forward runs: on the meta device, on fake tensors, or for real on the cpu.

* ``meta``: every parameter, buffer and input is a meta tensor: no memory, no arithmetic. A
  model with real weights runs on meta stand-ins of them (nothing is moved).
* ``fake``: inputs are fake tensors on the model's device; real parameters are read as fakes,
  so still no arithmetic and no activation memory. Buffers run on fake copies.
* ``real``: one real forward on the cpu with seeded random inputs (floats from a normal
  distribution, integers in [0, 2), booleans False/True). Parameters and buffers run on
  clones, so nothing the forward does in place (``buf.copy_(...)``, ``self.steps += 1``)
  reaches the model; a meta model gets random weights (normal, std 0.02) and zero buffers
  (running variances one). Needed when the forward reads data (``nonzero``, ``nms``,
  ``.item()``): see :data:`.tables.DATA_DEPENDENT`.
* ``auto``: ``meta`` when every parameter and buffer is on the meta device, else ``fake``.

Whatever the mode, plain attributes the forward sets on a module (``self.n += 1``, a cache)
are put back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from convcost._compat import StrEnum
from convcost.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from convcost.frontends.torch_source import InputSpec


class Execution(StrEnum):
    AUTO = "auto"
    META = "meta"
    FAKE = "fake"
    REAL = "real"


def execution_of(word: str | Execution) -> Execution:
    try:
        return Execution(str(word).strip().lower())
    except ValueError:
        choices = ", ".join(repr(str(e)) for e in Execution)
        raise InputError(f"unknown execution {word!r}; use one of {choices}") from None


def is_meta(model: nn.Module) -> bool:
    """Whether every parameter and buffer is on the meta device (or there are none)."""
    tensors = [*model.parameters(), *model.buffers()]
    return all(t.device.type == "meta" for t in tensors)


def resolve(execution: str | Execution, model: nn.Module) -> Execution:
    mode = execution_of(execution)
    if mode is Execution.AUTO:
        return Execution.META if is_meta(model) else Execution.FAKE
    return mode


def substitutes(
    model: nn.Module, mode: Execution, fake_mode: Any = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(parameters, buffers) by fully qualified name for the forward to run on, or None to
    run on the model's own tensors. Tied tensors get one substitute under every name."""
    import torch

    meta = is_meta(model)
    if (mode is Execution.META and meta) or isinstance(model, torch.jit.ScriptModule):
        return None  # TorchScript has no stateless call: see tensors_restored
    made: dict[int, Any] = {}

    def stand_in(t: Any, name: str, is_param: bool) -> Any:
        found = made.get(id(t))
        if found is not None:
            return found
        if mode is Execution.META:
            new = torch.empty_like(t, device="meta")
        elif mode is Execution.FAKE:
            new = fake_mode.from_tensor(t) if not is_param else t
        elif t.device.type == "meta":
            new = _random_like(t, name, is_param)
        else:
            new = t.detach().clone().to("cpu")
        if is_param and mode is not Execution.FAKE and isinstance(t, torch.nn.Parameter):
            new = torch.nn.Parameter(new, requires_grad=t.requires_grad)
        made[id(t)] = new
        return new

    params = {n: stand_in(p, n, True)
              for n, p in model.named_parameters(remove_duplicate=False)}
    buffers = {n: stand_in(b, n, False) for n, b in model.named_buffers(remove_duplicate=False)}
    return params, buffers


def _random_like(t: Any, name: str, is_param: bool) -> Any:
    import torch

    if not t.dtype.is_floating_point:
        return torch.zeros(t.shape, dtype=t.dtype)
    if is_param:
        return torch.randn(t.shape, dtype=t.dtype) * 0.02
    if name.rpartition(".")[2] == "running_var":
        return torch.ones(t.shape, dtype=t.dtype)
    return torch.zeros(t.shape, dtype=t.dtype)


def make_inputs(
    specs: Sequence[InputSpec], mode: Execution, device: torch.device, seed: int = 0
) -> list[Any]:
    """One tensor per input spec: empty on meta or fake, seeded random for a real run."""
    import torch

    if mode is not Execution.REAL:
        return [torch.empty(s.shape, dtype=s.torch_dtype(), device=device) for s in specs]
    gen = torch.Generator().manual_seed(seed)
    out = []
    for s in specs:
        dtype = s.torch_dtype()
        if dtype.is_floating_point or dtype.is_complex:
            out.append(torch.randn(s.shape, dtype=dtype, generator=gen))
        elif dtype is torch.bool:
            out.append(torch.randint(0, 2, s.shape, generator=gen).bool())
        else:
            out.append(torch.randint(0, 2, s.shape, dtype=dtype, generator=gen))
    return out


@contextmanager
def attributes_restored(model: nn.Module) -> Iterator[None]:
    """Plain attributes each module holds (counters, caches, registered tensors) are put back
    as they were when the block ends."""
    saved = []
    for m in model.modules():
        own = {k: dict(v) for k, v in vars(m).items()
               if k in ("_parameters", "_buffers", "_modules") and type(v) is dict}
        saved.append((m, dict(vars(m)), own))
    try:
        yield
    finally:
        for m, attrs, own in saved:
            state = vars(m)
            for key in [k for k in state if k not in attrs]:
                del state[key]
            for key, value in attrs.items():
                if state.get(key) is not value:
                    state[key] = value
            for key, table in own.items():
                current = state[key]
                same = current.keys() == table.keys() and all(
                    current[k] is v for k, v in table.items()
                )
                if not same:
                    current.clear()
                    current.update(table)


@contextmanager
def tensors_restored(model: nn.Module) -> Iterator[None]:
    """For a forward that runs on the model's own tensors (TorchScript): every real buffer and
    parameter is copied back to what it held if the forward changed it in place."""
    import torch

    tensors = {id(t): t for t in (*model.buffers(), *model.parameters())
               if t.device.type != "meta"}
    saved = [(t, t.detach().clone()) for t in tensors.values()]
    try:
        yield
    finally:
        with torch.no_grad():
            for t, before in saved:
                if not torch.equal(t, before):
                    t.copy_(before)
