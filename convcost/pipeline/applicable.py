"""Every option applies to the source it is given with, or is refused before anything loads.

A YAML description carries its own input shape and takes MobileNet's multipliers; a torch or
ONNX source takes input shapes (and a torch factory its keyword arguments) but no multipliers.
An option that does not apply is one line and exit 2 (:class:`InputError`), never ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from convcost._compat import StrEnum
from convcost.errors import Context, InputError
from convcost.frontends.source_kind import (
    is_onnx,
    is_yaml,
    looks_like_path,
    names_its_input,
    split_target,
)


class SourceKind(StrEnum):
    YAML = "yaml"
    ONNX = "onnx"
    TORCH = "torch"


def kind_of(source: object) -> SourceKind:
    """Which front-end reads ``source`` (a path or source string, or an ``nn.Module``)."""
    if is_yaml(source):
        return SourceKind.YAML
    if is_onnx(source):
        return SourceKind.ONNX
    return SourceKind.TORCH


@dataclass(frozen=True)
class Given:
    """The options a user gave, ``None`` (or empty) where they gave none."""

    inputs: bool = False
    kwargs: bool = False
    width_mult: float | None = None
    resolution: int | None = None
    batch: int | None = None


_NOT_TORCH = {
    "--width-mult": "build the model at that width instead (a factory argument: --kwargs)",
    "--resolution": "give the input shape instead, e.g. --input 1,3,160,160",
    "--batch": "the input shape carries the batch, e.g. --input 8,3,224,224",
}


def refuse_inapplicable(source: object, given: Given, *, needs_input: bool = True) -> None:
    """Raise :class:`InputError` for the first option that does not apply to ``source``.

    ``needs_input``: a torch source that cannot name its own input (every source but a model
    zoo entry, whose metadata names one) must be given ``--input``; it is refused here, before
    the model is built.
    """
    kind = kind_of(source)
    needs_input = needs_input and not names_its_input(source)
    if kind is SourceKind.YAML:
        if given.inputs:
            raise InputError("a YAML description carries its own input shape (its 'input:' "
                             "key; --resolution and --batch change it); remove --input",
                             Context(flag="--input"))
        if given.kwargs:
            raise InputError("applies to torch factories, not YAML descriptions",
                             Context(flag="--kwargs"))
        return
    what = "an ONNX file" if kind is SourceKind.ONNX else "a torch model"
    for flag, value in (("--width-mult", given.width_mult), ("--resolution", given.resolution),
                        ("--batch", given.batch)):
        if value is not None:
            raise InputError(f"applies to YAML descriptions, not {what}; "
                             f"{_NOT_TORCH[flag]}", Context(flag=flag))
    if kind is SourceKind.ONNX and given.kwargs:
        raise InputError("applies to torch factories, not ONNX files",
                         Context(flag="--kwargs"))
    if kind is SourceKind.TORCH and needs_input and not given.inputs and _readable(source):
        raise InputError("a torch model needs an input shape, e.g. --input 1,3,224,224",
                         Context(flag="--input"))


def _readable(source: object) -> bool:
    """False for a path that names no file (a typo, a folder): the loader says what is wrong
    with it, which is worth more than asking for an input shape first."""
    if not isinstance(source, str) or not looks_like_path(source):
        return True
    return Path(split_target(source)[0]).is_file()
