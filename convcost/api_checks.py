"""Arguments of the Python API, checked: a bad one is an :class:`~convcost.errors.InputError`
(never a ``TypeError`` or ``ValueError`` from deep inside), as a bad flag is on the CLI."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcost.core.analysis import Variant
from convcost.core.dtypes import DType
from convcost.errors import Context, InputError
from convcost.reference.counts import Tool

if TYPE_CHECKING:
    from convcost.pipeline.run import Options

MAX_DIM = 2**31


def _bad(arg: str, message: str) -> InputError:
    return InputError(message, Context(key=arg))


def _int(arg: str, value: Any, *, minimum: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(arg, f"expected an integer, got {type(value).__name__} {value!r:.40}")
    if value < minimum:
        raise _bad(arg, f"must be >= {minimum}, got {value}")
    if value > MAX_DIM:
        raise _bad(arg, f"{value:.3g} is too large (at most 2^31)")
    return value


def _enum(arg: str, value: Any, kind: type[Variant] | type[Tool]) -> Any:
    if isinstance(value, kind):
        return value
    allowed = ", ".join(repr(v.value) for v in kind)
    if not isinstance(value, str):
        raise _bad(arg, f"expected one of {allowed}, got {type(value).__name__}")
    try:
        return kind(value.strip().lower())
    except ValueError:
        raise _bad(arg, f"{value!r:.40} is not allowed; use one of {allowed}") from None


def checked_options(*, input_shape: Any, input_shapes: Any, dtype: Any, batch: Any,
                    width_mult: Any, resolution: Any, rewrite_as: Any, reference: Any,
                    kwargs: Any, depth: Any, strict: Any) -> Options:
    from convcost.frontends.torch_source import as_input_specs
    from convcost.pipeline.run import Options

    elem: DType | None
    if dtype is None or isinstance(dtype, DType):
        elem = dtype
    elif isinstance(dtype, str):
        elem = DType.parse(dtype)
    else:
        raise _bad("dtype", f"expected a dtype name such as 'float32', got {dtype!r:.40}")
    if isinstance(reference, str | Tool):
        raise _bad("reference", f"expected a list of tools such as ['fvcore'], got "
                   f"{reference!r:.40} (a single string)")
    if not isinstance(reference, Sequence):
        raise _bad("reference", f"expected a list of tools, got {type(reference).__name__}")
    if width_mult is not None and (isinstance(width_mult, bool) or
                                   not isinstance(width_mult, int | float) or
                                   not math.isfinite(width_mult) or width_mult <= 0):
        raise _bad("width_mult", f"expected a positive number, got {width_mult!r:.40}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise _bad("kwargs", f"expected a dict, got {type(kwargs).__name__}")
    if not isinstance(strict, bool):
        raise _bad("strict", f"expected True or False, got {strict!r:.40}")
    specs: tuple[Any, ...]
    try:
        if isinstance(input_shapes, Mapping):  # ONNX inputs by name
            from convcost.frontends.onnx_load import NamedInput

            specs = tuple(NamedInput(tuple(s), name=str(k)) for k, s in input_shapes.items())
        else:
            shapes: list[Any] = list(input_shapes or ([input_shape] if input_shape else []))
            specs = tuple(spec for s in shapes for spec in as_input_specs(s))
    except TypeError:
        raise _bad("input_shape", "expected a shape such as (1, 3, 224, 224)") from None
    return Options(
        inputs=specs,
        dtype=elem,
        batch=_int("batch", batch, minimum=1, optional=True),
        width_mult=None if width_mult is None else float(width_mult),
        resolution=_int("resolution", resolution, minimum=1, optional=True),
        rewrite_as=_enum("rewrite_as", rewrite_as, Variant),
        reference=tuple(dict.fromkeys(_enum("reference", t, Tool) for t in reference)),
        kwargs=kwargs,
        depth=_int("depth", depth, minimum=1, optional=True),
        strict=strict,
    )
