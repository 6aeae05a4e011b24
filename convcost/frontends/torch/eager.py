"""An eager walk without ``torch._dynamo``.

torch's Python decompositions — the meta and fake kernels of batch-norm and of every
element-wise reference in ``torch._refs`` — are wrapped in ``torch._disable_dynamo``, whose
first call imports ``torch._dynamo`` (about 1.5-2 s, as long as ``import torch`` itself) only to
mark the function as one the compiler must not trace. A walk compiles nothing. While it runs,
each such wrapper is told its function is already marked, so it calls the function directly;
afterwards every mark is taken off again, and torch is as it was found. The wrappers are found
once per process, so that a second walk does not pay for the search.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FunctionType
from typing import Any

_MARK = "__dynamo_disable"  # the attribute torch._compile._disable_dynamo caches its wrapper in


def _probe() -> None:
    """A function for torch to wrap, so that the wrapper's code can be recognised."""


@contextmanager
def without_dynamo_import() -> Iterator[None]:
    """Run the body without importing ``torch._dynamo`` for torch's own wrappers (nothing is
    done when it is imported already)."""
    if "torch._dynamo" in sys.modules:
        yield
        return
    marked = _mark_wrapped()
    try:
        yield
    finally:
        for fn in marked:
            if fn.__dict__.get(_MARK) is fn:
                del fn.__dict__[_MARK]


_wrapped: list[Any] | None = None
"""The functions torch wrapped, found once per process (a scan of every object: ~0.06 s)."""


def _mark_wrapped() -> list[Any]:
    global _wrapped
    if _wrapped is None:
        _wrapped = _find_wrapped()
    marked = []
    for fn in _wrapped:
        if _MARK not in fn.__dict__:
            fn.__dict__[_MARK] = fn
            marked.append(fn)
    return marked


def _find_wrapped() -> list[Any]:
    try:
        import torch._compile

        code = torch._compile._disable_dynamo(_probe).__code__
    except (AttributeError, ImportError, TypeError):  # another torch: leave it alone
        return []
    found = []
    for obj in gc.get_objects():
        if type(obj) is not FunctionType or obj.__code__ is not code or obj.__closure__ is None:
            continue
        cells = dict(zip(obj.__code__.co_freevars, obj.__closure__, strict=True))
        cell = cells.get("fn")
        fn = cell.cell_contents if cell is not None else None
        if isinstance(fn, FunctionType):
            found.append(fn)
    # A wrapper made after the scan (a module imported later) imports dynamo when first
    # called, as torch does; from then on there is nothing left to spare.
    return found
