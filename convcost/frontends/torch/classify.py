"""One classifier: an op is ignored (it costs no arithmetic), handled (a handler turns it into
records) or uncounted. An op name is normalised once: overload dropped (the packet), and an
in-place form (``aten.add_``, ``aten.unsqueeze_``) read as its functional op."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convcost._compat import StrEnum
from convcost.frontends.torch.registry import Handler, handler_for, packet
from convcost.frontends.torch.tables import DATA_DEPENDENT, IGNORED, PASS_PARAM, RESHAPES


class Verdict(StrEnum):
    IGNORED = "ignored"
    HANDLED = "handled"
    UNCOUNTED = "uncounted"


@dataclass(frozen=True)
class Classified:
    name: str
    """The functional op name: ``aten.unsqueeze`` for ``aten.unsqueeze_``."""
    verdict: Verdict
    handler: Handler | None
    passes_param: bool
    """Its output is a view or copy of its first input (a parameter stays a parameter)."""
    reshape: bool
    data_dependent: bool = False
    """Its output shape or value depends on the data (see :data:`.tables.DATA_DEPENDENT`)."""


_CACHE: dict[Any, Classified] = {}


def functional_name(name: str) -> str:
    """``aten.add_`` -> ``aten.add``; ``aten.__iand__`` stays as it is."""
    if name.endswith("_") and not name.endswith("__"):
        base = name[:-1]
        if packet(base) is not None or base in IGNORED:
            return base
    return name


def classify(op_packet: Any) -> Classified:
    """What the walk does with every call of ``op_packet`` (cached per packet)."""
    found = _CACHE.get(op_packet)
    if found is not None:
        return found
    raw = str(op_packet)
    name = functional_name(raw)
    handler = handler_for(op_packet)
    if handler is None and name != raw:
        handler = handler_for(packet(name))
    if raw in IGNORED or name in IGNORED:
        verdict = Verdict.IGNORED
    elif handler is not None:
        verdict = Verdict.HANDLED
    else:
        verdict = Verdict.UNCOUNTED
    found = Classified(name, verdict, handler, name in PASS_PARAM, name in RESHAPES,
                       raw in DATA_DEPENDENT or name in DATA_DEPENDENT)
    _CACHE[op_packet] = found
    return found
