"""Model inputs beyond a flat list of tensors: tuples, keyword tensors and plain Python values.

A model's call is described by :class:`Call`: positional arguments and keyword arguments, each a
*value* — an :class:`~convcost.frontends.torch_source.InputSpec` (a tensor of that shape and
dtype), a tuple or list of values (``(h0, c0)``), a dict of values, or a plain Python value
(``True``, ``0.5``, ``"mean"``, ``None``) passed as it is.

The walker and the reference counters take positional tensors only, so a call is *flattened*:
its tensors become the positional inputs, and :func:`bound_forward` temporarily gives the model
a ``forward`` that puts them back where they belong before calling the real one.

Text form (``--input``, repeatable; one ``--input`` may hold several inputs separated by ``;``):

* ``1,3,224,224`` or ``1,128:int64`` — a tensor;
* ``name=1,128:int64`` — a keyword tensor;
* ``(1,1,20; 1,1,20)`` — a tuple of tensors (nesting allowed);
* ``name=True``, ``name=0.5``, ``name='mean'``, ``name=None``, ``name=int:3`` — a Python value
  (a bare integer is a 1-D shape, so a Python int is written ``int:3``).
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.errors import InputError
from convcost.frontends.torch_source import InputSpec, parse_input_spec

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Call:
    """Positional and keyword arguments of one forward call (values as described above)."""

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.args and not self.kwargs

    def is_flat(self) -> bool:
        """Only positional tensors: the walker can take it as it is."""
        return not self.kwargs and all(isinstance(a, InputSpec) for a in self.args)

    def leaves(self) -> list[InputSpec]:
        """Every tensor of the call, in order (positional first, then keywords)."""
        out: list[InputSpec] = []
        for value in (*self.args, *self.kwargs.values()):
            _collect(value, out)
        return out

    def describe(self) -> str:
        parts = [_describe(a) for a in self.args]
        parts += [f"{k}={_describe(v)}" for k, v in self.kwargs.items()]
        return ", ".join(parts)


def _collect(value: Any, out: list[InputSpec]) -> None:
    if isinstance(value, InputSpec):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _collect(v, out)
    elif isinstance(value, Mapping):
        for v in value.values():
            _collect(v, out)


def _describe(value: Any) -> str:
    if isinstance(value, InputSpec):
        text = "×".join(map(str, value.shape))
        return text if value.dtype == "float32" else f"{text}:{value.dtype}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_describe(v) for v in value) + ")"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _rebuild(value: Any, leaves: Iterator[Any]) -> Any:
    if isinstance(value, InputSpec):
        return next(leaves)
    if isinstance(value, tuple):
        return tuple(_rebuild(v, leaves) for v in value)
    if isinstance(value, list):
        return [_rebuild(v, leaves) for v in value]
    if isinstance(value, Mapping):
        return {k: _rebuild(v, leaves) for k, v in value.items()}
    return value


def rebuild(call: Call, tensors: Sequence[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call's args and kwargs with its tensors taken, in order, from ``tensors``."""
    it = iter(tensors)
    args = tuple(_rebuild(a, it) for a in call.args)
    kwargs = {k: _rebuild(v, it) for k, v in call.kwargs.items()}
    return args, kwargs


@contextlib.contextmanager
def bound_forward(model: nn.Module, call: Call) -> Iterator[nn.Module]:
    """While active, ``model(*leaf_tensors)`` runs ``forward(*call.args, **call.kwargs)``."""
    if call.is_flat():
        yield model
        return
    had = "forward" in model.__dict__
    previous = model.__dict__.get("forward")
    original = model.forward

    def forward(*tensors: Any) -> Any:
        args, kwargs = rebuild(call, tensors)
        return original(*args, **kwargs)

    object.__setattr__(model, "forward", forward)
    try:
        yield model
    finally:
        if had:
            object.__setattr__(model, "forward", previous)
        else:
            del model.__dict__["forward"]


# ---------------------------------------------------------------- text


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise InputError(f"unbalanced ')' in {text!r}")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth or quote:
        raise InputError(f"unbalanced brackets or quotes in {text!r}")
    parts.append(text[start:])
    return parts


def _literal(text: str) -> tuple[bool, Any]:
    if text.startswith("int:"):
        try:
            return True, int(text[4:])
        except ValueError:
            raise InputError(f"{text!r}: write int:N with an integer N") from None
    if text in ("True", "False", "None", "true", "false", "none"):
        return True, {"true": True, "false": False, "none": None}[text.lower()]
    if text[:1] in "'\"" or ("." in text and "," not in text and ":" not in text):
        try:
            return True, ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise InputError(f"{text!r} is not a Python value") from None
    return False, None


def parse_value(text: str, *, dtype: str = "float32") -> Any:
    """One value: a tensor spec, a ``( ; )`` tuple or a Python literal."""
    text = text.strip()
    if not text:
        raise InputError("empty input value")
    if text.startswith("(") or text.startswith("["):
        if not text.endswith(")" if text[0] == "(" else "]"):
            raise InputError(f"unbalanced brackets in {text!r}")
        inner = text[1:-1].strip()
        items = [parse_value(p, dtype=dtype) for p in _split_top(inner, ";") if p.strip()]
        return tuple(items) if text[0] == "(" else items
    known, value = _literal(text)
    if known:
        return value
    (spec,) = parse_input_spec(text, dtype=dtype)
    return spec


def parse_call(texts: Sequence[str], *, dtype: str = "float32") -> Call:
    """Every ``--input`` of a command line -> one :class:`Call`."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for text in texts:
        for part in _split_top(text, ";"):
            part = part.strip()
            if not part:
                raise InputError(f"empty input in {text!r}; write sizes like 1,3,224,224")
            name, eq, rest = part.partition("=")
            if eq and name.strip().isidentifier():
                key = name.strip()
                if key in kwargs:
                    raise InputError(f"input {key!r} is given twice")
                kwargs[key] = parse_value(rest, dtype=dtype)
            else:
                if kwargs:
                    raise InputError(f"positional input {part!r} after a keyword input")
                args.append(parse_value(part, dtype=dtype))
    return Call(tuple(args), kwargs)


def as_call(value: Any, kwargs: Mapping[str, Any] | None = None) -> Call:
    """A Python API input description -> Call: a Call, text, a shape, shapes, or a structure
    of InputSpecs, tuples, dicts and plain values."""
    from convcost.frontends.torch_source import as_input_specs

    if isinstance(value, Call):
        return value
    kw = {k: _api_value(v) for k, v in (kwargs or {}).items()}
    if value is None or (isinstance(value, (tuple, list)) and not value):
        return Call((), kw)
    if isinstance(value, str):
        call = parse_call([value])
        return Call(call.args, {**call.kwargs, **kw})
    flat_ints = isinstance(value, (tuple, list)) and all(
        isinstance(s, int) and not isinstance(s, bool) for s in value)
    try:
        return Call(as_input_specs(value), kw)
    except InputError:
        if flat_ints:  # a shape out of bounds: say so
            raise
    if isinstance(value, (tuple, list)):
        return Call(tuple(_api_value(v) for v in value), kw)
    return Call((_api_value(value),), kw)


def _api_value(value: Any) -> Any:
    import torch

    if isinstance(value, InputSpec):
        return value
    if isinstance(value, torch.Tensor):
        return InputSpec(tuple(value.shape), str(value.dtype).removeprefix("torch."))
    if isinstance(value, str):
        return parse_value(value)
    if (isinstance(value, (tuple, list)) and value
            and all(isinstance(s, int) and not isinstance(s, bool) for s in value)):
        from convcost.frontends.torch_source import as_input_specs

        (spec,) = as_input_specs(tuple(int(s) for s in value))  # bounds checked
        return spec
    if isinstance(value, (tuple, list)):
        items = [_api_value(v) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, Mapping):
        return {k: _api_value(v) for k, v in value.items()}
    return value
