"""Why a reference counter could not count a model, as a sentence a user can read.

fvcore traces with TorchScript and hands every op to a handler; when a handler meets a call
form it does not expect it fails an ``assert`` whose whole message is the input shapes
(``[[10, 10], [10, 10], [10, 10]]``). That becomes "fvcore's matmul_flop_jit does not handle
this call of the op (input shapes [[10, 10], ...])".
"""

from __future__ import annotations

import traceback

_TOOL_NAMES = {"fvcore": "fvcore", "torch": "torch.utils.flop_counter"}


def _innermost(err: BaseException) -> BaseException:
    seen = set()
    while err.__cause__ is not None and id(err) not in seen:
        seen.add(id(err))
        err = err.__cause__
    return err


def _last_frame(err: BaseException, package: str) -> str:
    frames = [f for f in traceback.extract_tb(err.__traceback__) if package in f.filename]
    return frames[-1].name if frames else ""


def reason_of(tool: object, err: BaseException) -> str:
    """One line: what failed inside the reference and why."""
    tool = str(tool)
    name = _TOOL_NAMES.get(tool, tool)
    inner = _innermost(err)
    text = str(inner).strip().splitlines()
    first = text[0] if text else ""
    for prefix in ("fvcore could not count the model: ",
                   "torch.utils.flop_counter could not count the model: "):
        first = first.removeprefix(prefix)
    kind = type(inner).__name__
    package = "fvcore" if tool == "fvcore" else "torch"
    where = _last_frame(inner, package)
    if isinstance(inner, AssertionError) or first[:1] in "[(" or not first:
        shapes = f" (input shapes {first})" if first[:1] in "[(" else ""
        handler = f"{name}'s {where}" if where else name
        return f"{handler} does not handle this call of the op{shapes}"
    if "DynamicCache" in first or "unsupported type" in first.lower():
        return (f"{name} cannot trace a forward that returns {first.split(':')[-1].strip()} "
                "(TorchScript tracing takes tensors and tuples only)")
    if len(first) > 160:
        first = first[:157] + "…"
    return f"{kind}: {first}" if kind not in first else first
