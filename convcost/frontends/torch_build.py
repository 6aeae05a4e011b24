"""Call a model factory without spending memory on its weights — or say why it must.

Three ways, tried in order when the model is wanted on the meta device:

1. ``meta``: the factory runs under ``with torch.device("meta")``; nothing is allocated.
2. ``meta-parameters``: some constructors compute with real tensors (torchvision's RegNets turn a
   meta tensor into Python numbers: "Cannot copy out of meta tensor"; ``torch.Tensor(n)`` ignores
   the default device). The factory then runs on the cpu, but every parameter is moved to the
   meta device the moment it is registered, and the buffers once the model is built, so memory
   peaks at one parameter, not the whole model.
3. ``cpu``: constructors that need real weights (int8 quantisation calibrates on real data) are
   built on the cpu, after checking that their weights fit in memory when their size is known
   beforehand (``estimate_params``); a model that would not fit is refused with its size.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.errors import AnalysisError, ConvcostError

if TYPE_CHECKING:
    from torch import nn

BYTES_PER_PARAM = 4
"""Weights are estimated as float32."""
MEMORY_HEADROOM = 0.8
"""Use at most this share of the memory available now."""


class Build:
    META = "meta"
    META_PARAMETERS = "meta-parameters"
    CPU = "cpu"


@dataclass(frozen=True)
class Built:
    model: Any
    """The ``nn.Module``."""
    build: str = Build.META
    """How it was built: ``meta``, ``meta-parameters`` (cpu constructor, weights on meta) or
    ``cpu``."""
    reason: str = ""
    """Why it was not built on the meta device (the constructor's first error line)."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now, or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def check_fits(what: str, nbytes: int, purpose: str) -> None:
    """Raise AnalysisError (exit 3) when ``nbytes`` would not fit in the memory available."""
    free = available_memory()
    if free is not None and nbytes > free * MEMORY_HEADROOM:
        raise AnalysisError(
            f"{what} {purpose}, and its {human_bytes(nbytes)} would not fit in memory "
            f"({human_bytes(free)} available)"
        )


@contextlib.contextmanager
def parameters_on_meta() -> Iterator[None]:
    """Every parameter registered while this is active is moved to the meta device at once."""
    import torch
    from torch import nn

    register = nn.Module.register_parameter

    def on_meta(self: nn.Module, name: str, param: Any) -> None:
        register(self, name, param)
        p = self._parameters.get(name)
        if p is not None and p.device.type != "meta":
            cls = type(p)
            moved = p.to("meta")
            self._parameters[name] = cls(moved, requires_grad=p.requires_grad) if issubclass(
                cls, nn.Parameter) else moved

    nn.Module.register_parameter = on_meta  # type: ignore[method-assign]
    try:
        with torch.device("cpu"):
            yield
    finally:
        nn.Module.register_parameter = register  # type: ignore[method-assign]


def _to_meta(model: nn.Module) -> None:
    """Buffers (and any parameter set without registration) onto the meta device, in place."""
    for module in model.modules():
        for key, buf in list(module._buffers.items()):
            if buf is not None and buf.device.type != "meta":
                module._buffers[key] = buf.to("meta")
        for key, p in list(module._parameters.items()):
            if p is not None and p.device.type != "meta":
                module._parameters[key] = type(p)(p.to("meta"), requires_grad=p.requires_grad)


def _first(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def build(
    factory: Callable[[], Any],
    what: str,
    device: str,
    *,
    estimate_params: int | None = None,
) -> Built:
    """Call ``factory()`` for ``device``; on ``meta`` fall back as the module docstring says.

    Errors of the factory itself propagate (the caller words them); a model too large for the
    cpu fallback raises :class:`AnalysisError`.
    """
    import torch

    if device != "meta":
        if estimate_params is not None and device == "cpu":
            check_fits(what, estimate_params * BYTES_PER_PARAM, "is built with real weights")
        with torch.device(device):
            return Built(factory(), Build.CPU if device == "cpu" else device)
    try:
        with torch.device("meta"):
            return Built(factory())
    except ConvcostError:
        raise
    except Exception as err:
        reason = _first(err)
    try:
        with parameters_on_meta():
            model = factory()
        if isinstance(model, torch.nn.Module):
            _to_meta(model)
        return Built(model, Build.META_PARAMETERS, reason)
    except ConvcostError:
        raise
    except Exception:
        pass
    if estimate_params is not None:
        check_fits(what, estimate_params * BYTES_PER_PARAM,
                   f"cannot be built on the meta device ({reason}) but only with real weights")
    with torch.device("cpu"):
        model = factory()
    return Built(model, Build.CPU, reason)


def describe_build(built: Built) -> str:
    """One line for the report; empty for a plain meta build."""
    if built.build == Build.META_PARAMETERS:
        return ("built on the cpu with its weights on the meta device: its constructor "
                f"computes with real tensors ({built.reason})")
    if built.build == Build.CPU and built.reason:
        return f"built on the cpu with real weights: the meta device failed ({built.reason})"
    return ""
