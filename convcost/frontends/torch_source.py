"""Turn a model source string into a ``torch.nn.Module``, and parse input shapes.

Sources (see :func:`load_model`):

* ``package.module:factory`` — import the module, call ``factory(**kwargs)`` (a function or an
  ``nn.Module`` class); ``factory`` may be dotted (``Class.build``) and may also name a module
  *instance* (then no call and no kwargs).
* ``path/to/file.py:Name`` — the same, loading the file as a module.
* ``model.pt`` / ``model.ts`` — a TorchScript archive (``torch.jit.load``, on the cpu: TorchScript
  cannot be loaded onto the meta device). Plain ``torch.save`` pickles are refused: unpickling
  runs arbitrary code.
* ``model.pt2`` — a ``torch.export`` archive; its ``ExportedProgram.module()`` is analysed.
* ``torchvision:NAME``, ``timm:NAME``, ``hf:MODEL_TYPE`` — model zoos, built with random weights
  and knowing their own input (see :mod:`convcost.frontends.torch_zoo`).

Factories are called under ``with torch.device(device)`` (``meta`` by default) so that building a
model takes no weight memory; a constructor that needs real tensors falls back as
:mod:`convcost.frontends.torch_build` describes, and :func:`load_source` says how it was
built. Errors: a source that does not exist or does not give a module is
:class:`~convcost.errors.InputError` (exit 2); a factory or import that raises is
:class:`~convcost.errors.AnalysisError` (exit 3) carrying the first line of its message.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from convcost.core.dtypes import DType
from convcost.errors import (
    AnalysisError,
    Context,
    ConvcostError,
    InputError,
    first_line,
    reraise_user_interrupt,
)
from convcost.frontends.source_kind import (
    EXPORT_SUFFIXES,
    TORCH_FILE_SUFFIXES,
    TORCHSCRIPT_SUFFIXES,
    split_target,
)
from convcost.frontends.torch_archive import load_export, load_torchscript
from convcost.frontends.torch_build import Built

if TYPE_CHECKING:
    import torch

    from convcost.frontends.torch_zoo import ZooInfo



# ---------------------------------------------------------------- input shapes

@dataclass(frozen=True)
class InputSpec:
    """One model input: its shape (batch first) and the name of its torch dtype."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def torch_dtype(self) -> torch.dtype:
        import torch

        value = getattr(torch, self.dtype)
        assert isinstance(value, torch.dtype)
        return value


MAX_DIM = 2**31
"""The largest tensor dimension an input shape takes."""
MAX_ELEMENTS = 10**18
"""The largest number of elements of one input."""


def _check_bounds(shape: tuple[int, ...]) -> None:
    if len(shape) > 16:
        raise InputError(f"input shape has {len(shape)} dimensions; at most 16")
    if any(s > MAX_DIM for s in shape):
        raise InputError(f"input shape {list(shape)} has a size beyond 2^31 = {MAX_DIM:,}")
    total = 1
    for s in shape:
        total *= s
    if total > MAX_ELEMENTS:
        raise InputError(f"input shape {list(shape)} has {total:.3g} elements; at most 10^18")


def parse_dtype(text: str) -> str:
    """A dtype word (``float32``, ``fp16``, ``int64``, ``long``, ``bool``, ...) -> its name."""
    return DType.parse(text).value


def parse_input_spec(text: str, *, dtype: str = "float32") -> tuple[InputSpec, ...]:
    """Parse model inputs written as text.

    Grammar: inputs separated by ``;``; each input is its sizes separated by ``,`` or ``x``
    (batch first), optionally followed by ``:dtype``. ``dtype`` is the default for inputs
    without one.

    >>> parse_input_spec("1,3,224,224")
    (InputSpec(shape=(1, 3, 224, 224), dtype='float32'),)
    >>> parse_input_spec("1x128:int64; 1,128:bool")
    (InputSpec(shape=(1, 128), dtype='int64'), InputSpec(shape=(1, 128), dtype='bool'))
    """
    default = parse_dtype(dtype)
    parts = [p.strip() for p in text.split(";")]
    if not text.strip() or any(not p for p in parts):
        raise InputError(f"empty input shape in {text!r}; write sizes like 1,3,224,224")
    specs = []
    for part in parts:
        sizes, sep, word = part.partition(":")
        kind = parse_dtype(word) if sep else default
        items = [s.strip() for s in sizes.replace("x", ",").replace("X", ",").split(",")]
        if not all(s.lstrip("+-").isdigit() and s.isascii() for s in items):
            raise InputError(f"input shape {part[:40]!r} must be integers (ASCII digits 0-9) "
                             "separated by commas, e.g. 1,3,224,224")
        if any(len(s) > 12 for s in items):
            raise InputError(f"input shape {part[:40]!r} has a size beyond 2^31 = {MAX_DIM:,}")
        shape = tuple(int(s) for s in items)
        if any(s < 1 for s in shape):
            raise InputError(f"input shape {part!r} must hold sizes >= 1")
        _check_bounds(shape)
        specs.append(InputSpec(shape, kind))
    return tuple(specs)


def as_input_specs(
    value: str | Sequence[int] | Sequence[Sequence[int]] | Sequence[InputSpec] | InputSpec,
    *,
    dtype: str = "float32",
) -> tuple[InputSpec, ...]:
    """Accept a spec string, one shape, several shapes or InputSpecs."""
    if isinstance(value, str):
        return parse_input_spec(value, dtype=dtype)
    if isinstance(value, InputSpec):
        return (value,)
    items = list(value)
    if not items:
        raise InputError("no input shape given")
    default = parse_dtype(dtype)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        shape = tuple(int(v) for v in items if isinstance(v, int))
        if any(s < 1 for s in shape):
            raise InputError(f"input shape {list(shape)} must hold sizes >= 1")
        _check_bounds(shape)
        return (InputSpec(shape, default),)
    out = []
    for v in items:
        if isinstance(v, InputSpec):
            out.append(v)
        elif isinstance(v, Sequence) and all(isinstance(s, int) for s in v):
            out.extend(as_input_specs(tuple(v), dtype=dtype))
        else:
            raise InputError(f"cannot read an input shape from {v!r}")
    return tuple(out)


# ---------------------------------------------------------------- sources


PROTECTED = ("torch", "torchvision", "fvcore", "iopath", "yaml", "typer", "click", "rich",
             "numpy", "convcost", "onnx", "onnxruntime", "tabulate", "termcolor", "pygments",
             "markdown_it", "mdurl", "shellingham", "typing_extensions", "PIL", "sympy")
"""Packages convcost itself imports: a user's folder can never shadow them."""


def _shadows(folder: str) -> list[str]:
    """Protected package names that a file or folder in ``folder`` would shadow."""
    out = []
    for name in PROTECTED:
        base = os.path.join(folder, name)
        if os.path.exists(base + ".py") or os.path.isdir(base):
            out.append(name)
    return out


@contextlib.contextmanager
def _importable(folder: str) -> Iterator[None]:
    """``folder`` importable for the duration: appended after every installed package (so it
    never shadows one), with convcost's own dependencies imported first from where they are
    installed."""
    for name in _shadows(folder):
        if name not in sys.modules:
            with contextlib.suppress(Exception):
                importlib.import_module(name)  # the installed one, before the folder is on the path
    added = folder not in sys.path
    if added:
        sys.path.append(folder)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)


def _import_file(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    mod_name = f"_convcost_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"cannot load {path} as a Python module", Context(file=str(path)))
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.modules[mod_name] = module  # dataclasses and pickling look the module up here
    try:
        with _importable(folder):  # so that the file can import its neighbours
            spec.loader.exec_module(module)
    except BaseException as err:  # SystemExit, KeyboardInterrupt, GeneratorExit too
        sys.modules.pop(mod_name, None)
        reraise_user_interrupt(err)
        raise AnalysisError(
            f"importing the file failed: {first_line(err)}", Context(file=str(path))
        ) from err
    return module


def _import_module(name: str) -> ModuleType:
    """``package.module``: from the installed packages, then from the working directory (as
    ``python -m`` would, but after the installed packages, so a local file never shadows one)."""
    cwd = os.getcwd()
    try:
        with _importable(cwd):
            return importlib.import_module(name)
    except ModuleNotFoundError as err:
        missing = err.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            raise InputError(f"no Python module named {missing!r} (from {name!r})") from err
        raise AnalysisError(f"importing {name!r} failed: {first_line(err)}") from err
    except BaseException as err:  # SystemExit, KeyboardInterrupt, GeneratorExit too
        reraise_user_interrupt(err)
        raise AnalysisError(f"importing {name!r} failed: {first_line(err)}") from err


def _lookup(module: ModuleType, dotted: str, where: str) -> Any:
    obj: Any = module
    for part in dotted.split("."):
        if not part.isidentifier():
            raise InputError(f"{dotted!r} is not a Python name (in {where})")
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InputError(f"{where} has no attribute {dotted!r}") from None
        except Exception as err:
            raise AnalysisError(
                f"reading {dotted!r} from {where} failed: {first_line(err)}"
            ) from err
    return obj


def _build(obj: Any, what: str, kwargs: Mapping[str, Any], device: str) -> Built:
    import torch

    from convcost.frontends.torch_build import build

    if isinstance(obj, torch.nn.Module):
        if kwargs:
            raise InputError(f"{what} is a module instance; it takes no kwargs")
        return Built(obj, "instance")
    if not callable(obj):
        raise InputError(f"{what} is a {type(obj).__name__}, not a factory or nn.Module class")
    try:
        built = build(lambda: obj(**kwargs), what, device)
    except ConvcostError:
        raise
    except TypeError as err:
        raise AnalysisError(f"calling {what} failed: {first_line(err)}") from err
    except BaseException as err:  # SystemExit, KeyboardInterrupt, GeneratorExit too
        reraise_user_interrupt(err)
        raise AnalysisError(f"{what} raised {first_line(err)}") from err
    if not isinstance(built.model, torch.nn.Module):
        raise InputError(
            f"{what} returned a {type(built.model).__name__}, not a torch.nn.Module")
    return built


@dataclass(frozen=True)
class Loaded:
    """A model and what its source says about it."""

    model: torch.nn.Module
    built: Built
    zoo: ZooInfo | None = None
    """Default inputs and published cost, for zoo sources (and ``torchvision.models:NAME``)."""


def load_model(
    source: str, *, kwargs: Mapping[str, Any] | None = None, device: str = "meta"
) -> torch.nn.Module:
    """Load or build the model named by ``source`` (see the module docstring for the forms)."""
    return load_source(source, kwargs=kwargs, device=device).model


def load_source(
    source: str, *, kwargs: Mapping[str, Any] | None = None, device: str = "meta"
) -> Loaded:
    """:func:`load_model`, also saying how the model was built and what input it wants."""
    try:
        return _load_model(source, dict(kwargs or {}), device)
    except ConvcostError:
        raise
    except Exception as err:  # a bug or an unexpected failure: still one clean error
        raise AnalysisError(f"loading {source!r} failed: {first_line(err)}") from err


def _load_model(source: str, kwargs: dict[str, Any], device: str) -> Loaded:
    import torch

    from convcost.frontends import torch_zoo

    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"unknown device {device!r}") from None
    source = source.strip()
    if not source:
        raise InputError("no model source given; write package.module:factory or file.py:Name")
    if torch_zoo.is_zoo(source):
        built, info = torch_zoo.load_zoo(source, kwargs, device)
        return Loaded(built.model, built, info)
    target, name = split_target(source)
    path = Path(target)
    if name is None:
        suffix = path.suffix.lower()
        if suffix in TORCH_FILE_SUFFIXES or path.exists():
            if path.is_dir():
                raise InputError("is a directory; give a YAML description, a TorchScript or "
                                 ".pt2 file, or package.module:factory", Context(file=target))
            if not path.is_file():
                raise InputError("no such file", Context(file=target))
            if kwargs:
                raise InputError("kwargs apply only to a factory (module:factory)")
            if suffix in EXPORT_SUFFIXES:
                net = load_export(path)
                return Loaded(net, Built(net, "cpu"))
            if suffix in TORCHSCRIPT_SUFFIXES:
                net = load_torchscript(path)
                return Loaded(net, Built(net, "cpu"))
            raise InputError(f"{target}: name the model inside it as {target}:Name",
                             Context(file=target))
        raise InputError(
            f"model source {source!r} needs a name: package.module:factory or file.py:Name"
        )
    if not name:
        raise InputError(f"model source {source!r} has an empty name after ':'")
    if target.endswith(".py") or "/" in target or "\\" in target:
        if not path.is_file():
            raise InputError("no such file", Context(file=target))
        module = _import_file(path)
        where = str(path)
    else:
        module = _import_module(target)
        where = f"module {target!r}"
    zoo_name = torch_zoo.torchvision_name(target, name)
    if zoo_name is not None:
        built, info = torch_zoo.load_zoo(f"torchvision:{zoo_name}", kwargs, device)
        return Loaded(built.model, built, info)
    obj = _lookup(module, name, where)
    built = _build(obj, f"{source}", kwargs, device)
    return Loaded(built.model, built)
