"""The dispatch mode that sees every aten op of the forward and hands it to its handler.

A handler that meets a form of its op it cannot cost raises :class:`Unsupported` (or the core
refuses the op with a :class:`ConvcostError`): the op is listed as uncounted. Any other error
in a handler is a bug in convcost: under ``CONVCOST_DEBUG=1`` (set by the test suite) it is
raised as it is; otherwise it becomes an :class:`AnalysisError` naming the op and the module,
never a quiet "uncounted".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from convcost.errors import AnalysisError, ConvcostError
from convcost.frontends.torch.args import bind, flat
from convcost.frontends.torch.classify import Verdict, classify
from convcost.frontends.torch.registry import Unsupported
from convcost.frontends.torch.state import ROOT, WalkState
from convcost.frontends.torch.tables import PRODUCTS

DEBUG_ENV = "CONVCOST_DEBUG"


def debug() -> bool:
    """Whether a handler's own error is raised as it is (``CONVCOST_DEBUG=1``)."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


class HandlerBug(AnalysisError):
    """A handler failed on an op torch ran: a bug in convcost, not in the model."""


def on_op(state: WalkState, func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any],
          out: Any) -> None:
    """Record one op that has run: costed, ignored or uncounted."""
    c = classify(func._overloadpacket)
    tensors = [a for a in flat(args, kwargs) if isinstance(a, state.torch.Tensor)]
    if c.passes_param and args and isinstance(args[0], state.torch.Tensor):
        state.track(c.reshape, args[0], out)
    prepared = not c.passes_param and state.prepare(tensors, out)
    if state.covering:
        return
    if prepared and c.verdict is not Verdict.IGNORED and c.name not in PRODUCTS:
        # element-wise work on parameters alone (a pruning mask, weight norm, weight
        # standardisation): the weight it makes is counted where it is used
        state.ignore(f"{c.name} (weight preparation)")
        return
    if c.verdict is Verdict.IGNORED:
        state.ignore(c.name)
        return
    if c.handler is None:
        state.uncount(c.name)
        return
    if any(t.numel() == 0 for t in tensors):
        state.ignore(c.name)  # an empty tensor: nothing to compute
        return
    try:
        c.handler(state, c.name, bind(func, args, kwargs), out)
    except (Unsupported, ConvcostError):
        state.uncount(c.name)
    except Exception as err:
        if debug():
            state.bug = err
            raise
        where = state.where or ROOT
        raise HandlerBug(
            f"convcost failed to cost {c.name} in module {where!r} "
            f"({type(err).__name__}: {err}); please report this with the model"
        ) from err


def counting_mode(state: WalkState) -> Any:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class CountingMode(TorchDispatchMode):  # type: ignore[no-untyped-call]
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # An eager walk: wrapping the handler in dynamo's `disable` (torch's default for
            # dispatch modes) would import torch._dynamo, about a second, on the first op.
            return False

        def __torch_dispatch__(
            self, func: Any, types: Any, args: tuple[Any, ...] = (),
            kwargs: Mapping[str, Any] | None = None,
        ) -> Any:
            try:
                return self.count(func, args, kwargs or {})
            except BaseException as err:
                if not isinstance(err, Exception):  # Ctrl-C: it must reach the user as it is,
                    state.interrupt = err  # even if torch turns it into another error
                raise

        def count(self, func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
            if not isinstance(func, torch._ops.OpOverload):
                out = func(*args, **kwargs)
                state.uncount(str(func))
                return out
            c = classify(func._overloadpacket)
            if c.data_dependent:
                state.data_dependent.setdefault(c.name, None)
            known = c.verdict is not Verdict.UNCOUNTED
            if not known and not state.covering:
                # a composite op we do not know may decompose into ops we do
                with self:
                    r = func.decompose(*args, **kwargs)
                if r is not NotImplemented:
                    return r
            out = func(*args, **kwargs)
            on_op(state, func, args, kwargs, out)
            return out

    return CountingMode()  # type: ignore[no-untyped-call]
