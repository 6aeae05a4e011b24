"""Model archives (TorchScript ``.pt``/``.ts``, ``torch.export`` ``.pt2``), loaded without
unpickling.

A ``.pt2`` archive may store weights or constants as pickles, and unpickling runs whatever code
the pickle names. convcost loads archives with ``torch.load(weights_only=True)`` only (tensors
and plain containers) and refuses anything else with one line (exit 2), unless the user opts in
with ``--trust-model-file`` (:func:`trust_model_files`). A corrupt or truncated archive is one
line too, never a traceback: torch's loader logs are silenced while it runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcost.errors import AnalysisError, Context, InputError

if TYPE_CHECKING:
    import torch


def first_line(err: BaseException) -> str:
    """``Type: first line of the message`` of an exception raised by user code."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


_trust = contextvars.ContextVar("convcost_trust_model_files", default=False)


def trust_model_files(trust: bool = True) -> None:
    """Allow archives whose weights or constants are pickles (``--trust-model-file``):
    unpickling runs whatever code the archive names."""
    _trust.set(trust)


class _PickleRefused(BaseException):
    """Raised inside torch's loader when it is about to unpickle (a BaseException, so that
    torch's own ``except Exception`` fallbacks cannot swallow it)."""


def _refuse_pickle(*_: Any, **__: Any) -> Any:
    raise _PickleRefused


@contextlib.contextmanager
def _safe_loading() -> Iterator[None]:
    """Archive loading with no unpickling of arbitrary objects: ``torch.load`` only with
    ``weights_only=True`` (tensors and plain containers), plain pickles refused; torch's
    loader logs (tracebacks included) silenced."""
    import torch

    patches: list[tuple[Any, str, Any]] = []
    if not _trust.get():
        original = torch.load

        def weights_only_load(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("weights_only") is False:
                raise _PickleRefused
            kwargs["weights_only"] = True
            return original(*args, **kwargs)

        patches.append((torch, "load", weights_only_load))
        patches.append((torch._C, "_pickle_load_obj", _refuse_pickle))
        with contextlib.suppress(ImportError):
            from torch.export.pt2_archive import _package

            patches.append((_package, "pickle", _NoPickle()))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)
        logging.disable(previous)


class _NoPickle:
    """Stands in for the ``pickle`` module inside torch's archive reader."""

    def __getattr__(self, name: str) -> Any:
        import pickle

        if name in ("loads", "load", "Unpickler"):
            return _refuse_pickle
        return getattr(pickle, name)


_NEEDS_PICKLE = ("the archive holds pickled objects, and unpickling runs code; convcost "
                 "refuses it. If you trust this file, pass --trust-model-file (Python: "
                 "convcost.frontends.torch_archive.trust_model_files())")


def _archive_error(path: Path, kind: str, err: BaseException) -> InputError:
    if isinstance(err, _PickleRefused):
        return InputError(_NEEDS_PICKLE, Context(file=str(path)))
    reason = first_line(err)
    if isinstance(err, MemoryError | RecursionError):
        reason = type(err).__name__
    return InputError(f"not a readable {kind}: {reason}", Context(file=str(path)))


def load_torchscript(path: Path) -> torch.nn.Module:
    import torch

    try:
        with _safe_loading():
            model = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
    except (Exception, _PickleRefused) as err:
        if not isinstance(err, _PickleRefused) and zipfile.is_zipfile(path):
            raise InputError(
                f"not a TorchScript archive ({first_line(err)}); a torch.save pickle is "
                "not loaded (unpickling runs code): save with torch.jit.save or torch.export",
                Context(file=str(path)),
            ) from None
        raise _archive_error(path, "TorchScript archive", err) from None
    if not isinstance(model, torch.nn.Module):
        raise InputError("does not hold a module", Context(file=str(path)))
    return model


def load_export(path: Path) -> torch.nn.Module:
    import torch

    if not zipfile.is_zipfile(path):
        raise InputError("not a torch.export archive (not a zip file)",
                         Context(file=str(path)))
    try:
        with _safe_loading():
            program = torch.export.load(str(path))
    except (Exception, _PickleRefused) as err:
        raise _archive_error(path, "torch.export archive", err) from None
    if not isinstance(program, torch.export.ExportedProgram):
        raise InputError("does not hold an exported program", Context(file=str(path)))
    try:
        module = program.module()
    except Exception as err:
        raise AnalysisError(f"cannot build a module from the exported program: "
                            f"{first_line(err)}", Context(file=str(path))) from err
    assert isinstance(module, torch.nn.Module)
    return module
