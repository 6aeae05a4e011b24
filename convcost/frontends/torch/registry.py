"""The handler registries of the torch front-end.

* op handlers: an op packet (``torch.ops.aten.conv2d``...) -> the function that turns one call
  of it into records. Handlers are registered by name (``aten.conv2d``, ``torchvision.nms``)
  without importing torch, and the names are resolved to packets on the first lookup; two
  handlers for one packet is an error, as in torch's ``register_flop_formula``.
* module handlers: a function that records a module as a whole from the module itself (an
  ``nn.LSTM`` is one record per layer and direction, whatever its forward decomposes into).

The op modules of :mod:`convcost.ops` register here; lookups load the catalogue first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from convcost import catalog
from convcost.core.ops import Op, Shape
from convcost.frontends.unsupported import Unsupported
from convcost.registry_table import RegistryError, Table

__all__ = ["Handler", "ModuleHandler", "ModuleRecord", "RegistryError", "Unsupported",
           "handler_for", "handles", "handles_module", "module_handlers", "packet", "packets",
           "registered"]

if TYPE_CHECKING:
    from convcost.frontends.torch.state import WalkState

Handler = Callable[["WalkState", str, dict[str, Any], Any], None]
"""``handler(state, name, arguments by name, output)``; ``name`` is the functional op name
(``aten.add`` for ``aten.add_``)."""
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class ModuleRecord:
    """One record a module handler makes of a module: the op, its input shapes, the weight
    tensor that names it and decides whether it is tied, the module's other parameters it
    uses, and its label."""

    op: Op
    inputs: tuple[Shape, ...]
    weight: Any
    others: tuple[Any, ...]
    label: str
    name_by_param: bool = True


ModuleHandler = Callable[[Any, Any], "Sequence[ModuleRecord] | None"]
"""``handler(module, first input)``: the records of a module costed as a whole, or None when
the handler does not know the module (then its ops are walked one by one)."""

def _load() -> None:
    """Import every handler module (each registers its handlers when imported)."""
    from convcost.frontends.torch import (  # noqa: F401
        attention,
        handlers,
        pointwise,
    )

    catalog.load()


_NAMED: Table[str, Handler] = Table("a handler for", _load)
"""Every registered name -> its handler (resolved to packets on the first lookup)."""
_HANDLERS: dict[Any, Handler] = {}
_BY_NAME: dict[str, Handler] = {}  # ops of a library not loaded yet (torchvision.roi_align)
_MODULE_HANDLERS: list[ModuleHandler] = []
_resolved = False


def packet(name: str) -> Any:
    """The overload packet of ``ns.op`` (``aten.conv2d`` -> ``torch.ops.aten.conv2d``), or None
    when this torch build has no such op."""
    import torch

    ns, _, short = name.partition(".")
    try:
        space = getattr(torch.ops, ns)
        return getattr(space, short)
    except (AttributeError, RuntimeError):
        return None


def packets(names: Iterable[str]) -> list[Any]:
    """The packets of the names this torch build knows."""
    found = (packet(n) for n in sorted(names))
    return [p for p in found if p is not None]


def handles(*names: str) -> Callable[[H], H]:
    """Register a handler for ops by name (``aten.upsample_bilinear2d``); a name this torch
    build lacks is skipped when the names are resolved."""

    def register(fn: H) -> H:
        for name in names:
            _NAMED.add(name, fn)
            if _resolved:
                _resolve_one(name, fn)
        return fn

    return register


def handles_module(fn: ModuleHandler) -> ModuleHandler:
    """Register a module handler (asked, in registration order, for every module that runs)."""
    if fn in _MODULE_HANDLERS:
        raise RegistryError(f"module handler {fn.__qualname__} is already registered")
    _MODULE_HANDLERS.append(fn)
    return fn


def _resolve_one(name: str, fn: Handler) -> None:
    key = packet(name)
    if key is None and not name.startswith("aten."):
        _BY_NAME[name] = fn  # a library's op, resolved by its printed name when it runs
        return
    if key is None:
        return
    if key in _HANDLERS and _HANDLERS[key] is not fn:
        raise RegistryError(f"two handlers for {key}")
    _HANDLERS[key] = fn


def _resolve() -> None:
    global _resolved
    if _resolved:
        return
    for name, fn in _NAMED.loaded().items():
        _resolve_one(name, fn)
    _resolved = True


def handler_for(op_packet: Any) -> Handler | None:
    _resolve()
    return _HANDLERS.get(op_packet) or _BY_NAME.get(str(op_packet))


def module_handlers() -> tuple[ModuleHandler, ...]:
    _NAMED.loaded()  # the modules that register module handlers register op handlers too
    return tuple(_MODULE_HANDLERS)


def registered() -> tuple[Any, ...]:
    _resolve()
    return (*_HANDLERS, *_BY_NAME)
