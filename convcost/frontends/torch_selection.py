"""Selection ops of detectors' post-processing, costed so that a detector's total is exact.

* ``nonzero`` / ``argwhere``: a selection of indices, no arithmetic — ignored, as the walker
  ignores ``masked_select`` and ``gather``; ``im2col`` / ``col2im`` (``F.unfold``, ``F.fold``)
  rearrange elements and are ignored the same way.
* ``topk``, ``sort``, ``argsort``, ``kthvalue``, ``unique``: every input element is compared
  once, like a max reduction over the dimension (other ops = input elements; no MACs).

Importing this module and calling :func:`register` adds these handlers to the walker's
registry where it has none of its own.
"""

from __future__ import annotations

from typing import Any

from convcost.core.ops import Reduce

_REGISTERED = False


def _ignore(state: Any, name: str, a: dict[str, Any], out: Any) -> None:
    state.ignore(name)


def _select(state: Any, name: str, a: dict[str, Any], out: Any) -> None:
    from convcost.frontends.torch.state import shape_of

    x = a.get("self")
    if x is None:
        from convcost.frontends.torch.registry import Unsupported

        raise Unsupported(name)
    shape = shape_of(x)
    dim = a.get("dim")
    dims = (int(dim) % max(len(shape), 1),) if isinstance(dim, int) and shape else ()
    state.emit(Reduce(name.removeprefix("aten."), dims, keepdim=True), [shape],
               name.removeprefix("aten."))


def register() -> None:
    """Register the handlers the walker lacks (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from convcost.frontends.torch.registry import handles, packet, registered

    have = set(registered())
    table = {"aten.im2col": _ignore, "aten.col2im": _ignore,  # unfold / fold: rearrangement
             "aten.nonzero": _ignore, "aten.nonzero_static": _ignore, "aten.argwhere": _ignore,
             "aten.topk": _select, "aten.sort": _select, "aten.argsort": _select,
             "aten.kthvalue": _select, "aten._unique2": _select, "aten._unique": _select,
             "aten.unique_dim": _select, "aten.unique_consecutive": _select}
    for name, fn in table.items():
        key = packet(name)
        if key is not None and key not in have:
            handles(key)(fn)
    _REGISTERED = True
