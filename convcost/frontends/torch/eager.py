"""An eager walk without ``torch._dynamo``.

torch's Python decompositions — the meta and fake kernels of batch-norm and of every
element-wise reference in ``torch._refs`` — are wrapped in ``torch._disable_dynamo``, whose
first call imports ``torch._dynamo`` (about 1.5-2 s, as long as ``import torch`` itself) only to
mark the function as one the compiler must not trace. A walk compiles nothing. While it runs,
each such wrapper is told its function is already marked, so it calls the function directly;
afterwards every mark is taken off again, and torch is as it was found.
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


def _mark_wrapped() -> list[Any]:
    try:
        import torch._compile

        code = torch._compile._disable_dynamo(_probe).__code__
    except (AttributeError, ImportError, TypeError):  # another torch: leave it alone
        return []
    marked = []
    for obj in gc.get_objects():
        if type(obj) is not FunctionType or obj.__code__ is not code or obj.__closure__ is None:
            continue
        cells = dict(zip(obj.__code__.co_freevars, obj.__closure__, strict=True))
        cell = cells.get("fn")
        fn = cell.cell_contents if cell is not None else None
        if isinstance(fn, FunctionType) and _MARK not in fn.__dict__:
            fn.__dict__[_MARK] = fn
            marked.append(fn)
    return marked
