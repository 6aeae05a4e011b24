"""Plain option values without pydantic: typer (0.2x) coerces every parameter, given or
defaulted, through a pydantic ``TypeAdapter``; importing pydantic and building the adapters
was a third of convcost's start-up. convcost's options are ints, floats, strings, booleans,
paths, enums and lists of strings, and a value that is already what it should be -- or a
string that plainly spells an int or a float -- is taken as it is. Anything else (a mistake
included) goes to typer's own coercion, so every error message is typer's.

Nothing is changed on a typer without this machinery.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Any, get_args, get_origin

_NUMBERS: dict[type, re.Pattern[str]] = {
    int: re.compile(r"-?[0-9]+"),
    float: re.compile(r"-?[0-9]+(\.[0-9]+)?"),
}
"""A number type and the strings that plainly spell one."""


def _plain(annotation: Any, value: Any) -> tuple[bool, Any]:
    """(True, the coerced value) when ``value`` needs no real coercion to ``annotation``."""
    if annotation is str:
        return isinstance(value, str), value
    if annotation is bool:
        return type(value) is bool, value
    spelling = _NUMBERS.get(annotation)
    if spelling is not None:
        if type(value) is annotation:
            return True, value
        if isinstance(value, str) and spelling.fullmatch(value):
            return True, annotation(value)
        return False, None
    if annotation is Path:
        if isinstance(value, Path):
            return True, value
        return isinstance(value, str), Path(value) if isinstance(value, str) else None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if isinstance(value, annotation):
            return True, value
        members = {m.value: m for m in annotation}
        if isinstance(value, str) and value in members:
            return True, members[value]
        return False, None
    if get_origin(annotation) is list and get_args(annotation) == (str,) and \
            isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return True, list(value)
    return False, None


def install() -> None:
    try:
        from typer import _coercion, core
    except ImportError:  # an older typer: no pydantic either
        return
    parameter = getattr(core, "_TyperParameter", None)
    runtime = getattr(_coercion, "RuntimeParam", None)
    if parameter is None or runtime is None or getattr(parameter, "_convcost_plain", False):
        return
    original = parameter.get_runtime_param
    build = _coercion.build_runtime_param

    class Plain(runtime):  # type: ignore[misc,valid-type]
        """Plain values as they are; anything else through typer's own coercion."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            ok, coerced = _plain(self.annotation, value)
            if ok:
                return coerced
            real = build(param.type_descriptor)
            return real._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        desc = self.type_descriptor
        if self._runtime_param is None and desc.file_annotation is None:
            self._runtime_param = Plain(parameter_info=desc.parameter_info,
                                        annotation=desc.annotation)
        return original(self)

    parameter.get_runtime_param = get_runtime_param
    parameter._convcost_plain = True
