"""Reading an aten op's arguments: by schema name, with defaults, as ints and shapes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def bind(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """An aten op's arguments by name, defaults filled in."""
    out: dict[str, Any] = {}
    for i, arg in enumerate(func._schema.arguments):
        if i < len(args):
            out[arg.name] = args[i]
        elif arg.name in kwargs:
            out[arg.name] = kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
        else:
            out[arg.name] = None
    return out


def tensor_shape(t: Any) -> tuple[int, ...]:
    """A tensor's shape as plain ints."""
    return tuple(int(s) for s in t.shape)


def ints(value: Any, dims: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    items = tuple(int(v) for v in value)
    if len(items) == 1 and dims > 1:
        return items * dims
    return items


def flat(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Iterator[Any]:
    for a in (*args, *kwargs.values()):
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


def label(name: str) -> str:
    """A record label from an op name: ``aten._foo_`` -> ``foo``."""
    return name.removeprefix("aten.").removeprefix("_").removesuffix("_")


def first_tensor(torch: Any, a: Mapping[str, Any]) -> Any:
    """The first tensor among an op's arguments (its input)."""
    from convcost.frontends.unsupported import Unsupported

    for v in a.values():
        if isinstance(v, torch.Tensor):
            return v
    raise Unsupported
