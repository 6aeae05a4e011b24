"""The handler registry: an op packet (``torch.ops.aten.conv2d``...) -> the function that turns
one call of it into records. Registering a packet twice is an error, as in torch's
``register_flop_formula``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from convcost.frontends.torch.state import WalkState

Handler = Callable[["WalkState", str, dict[str, Any], Any], None]
"""``handler(state, name, arguments by name, output)``; ``name`` is the functional op name
(``aten.add`` for ``aten.add_``)."""
H = TypeVar("H", bound=Handler)

_HANDLERS: dict[Any, Handler] = {}
_BY_NAME: dict[str, Handler] = {}  # ops of a library not loaded yet (torchvision.roi_align)


class RegistryError(RuntimeError):
    """A programming error in the handler registry (never a user's input)."""


class Unsupported(Exception):
    """A handler met a form of its op it cannot cost: the op is listed as uncounted."""


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


def handles(*ops: Any) -> Callable[[H], H]:
    """Register a handler for op packets (or ``ns.op`` names, resolved to packets; names this
    torch build lacks are skipped)."""

    def register(fn: H) -> H:
        for op in ops:
            key = packet(op) if isinstance(op, str) else op
            if key is None and isinstance(op, str) and not op.startswith("aten."):
                if op in _BY_NAME:
                    raise RegistryError(f"a handler for {op} is already registered")
                _BY_NAME[op] = fn
                continue
            if key is None:
                continue
            if key in _HANDLERS or str(key) in _BY_NAME:
                raise RegistryError(f"a handler for {key} is already registered")
            _HANDLERS[key] = fn
        return fn

    return register


def handler_for(op_packet: Any) -> Handler | None:
    _load()
    return _HANDLERS.get(op_packet) or _BY_NAME.get(str(op_packet))


def registered() -> tuple[Any, ...]:
    _load()
    return (*_HANDLERS, *_BY_NAME)


def _load() -> None:
    """Import every handler module (each registers its handlers when imported)."""
    from convcost.frontends.torch import (  # noqa: F401
        attention,
        handlers,
        pointwise,
        recurrent,
        resample,
    )
