"""Structural promises of the library: complete registries, hashable errors."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import convcost
from convcost.errors import ConvcostError, InputError


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_all_subclasses(sub)}
    return out


def _import_light_modules() -> None:
    for info in pkgutil.walk_packages(convcost.__path__, "convcost."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # a module that needs an optional dependency
            continue


def test_every_error_hashes_and_compares_by_identity() -> None:
    assert isinstance(hash(InputError("x")), int)
    _import_light_modules()
    for cls in {ConvcostError, *_all_subclasses(ConvcostError)}:
        err = cls("x")
        assert hash(err) == hash(err), cls
        assert err == err and err != cls("x"), cls
        assert {err: 1}[err] == 1


def test_formula_registry_is_complete_when_imported() -> None:
    code = (
        "from convcost.core.registry import registered\n"
        "before = set(registered())\n"
        "from convcost.core import ops\n"
        "from convcost.core.registry import cost_of\n"
        "cost_of(ops.Flatten(), [(1, 2, 3)])\n"
        "assert before and before == set(registered()), (before, registered())\n"
        "print(len(before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 10
