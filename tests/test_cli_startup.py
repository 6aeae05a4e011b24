"""Start-up: convcost's own option values skip pydantic, and agree with typer's coercion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from convcost.cli._plain_params import _plain
from convcost.report.formats import Format

CASES: list[tuple[Any, Any]] = [
    (int, "3"), (int, "-12"), (int, "007"), (int, 5), (float, "0.75"), (float, "2"),
    (float, 1.0), (str, "abc"), (str, ""), (bool, True), (bool, False), (Path, "a/b.svg"),
    (Format, "json"), (Format, Format.TABLE), (list[str], ("1,3,8,8", "1,4")),
]


@pytest.mark.parametrize(("annotation", "value"), CASES)
def test_plain_values_match_typers_coercion(annotation: Any, value: Any) -> None:
    adapters = pytest.importorskip("typer._adapters")
    from typer.models import OptionInfo

    ok, ours = _plain(annotation, value)
    assert ok
    adapter = adapters.try_build_adapter(annotation, OptionInfo())
    assert adapter is not None
    theirs = adapter.validate_python(value)
    assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize(("annotation", "value"), [
    (int, "x"), (int, "3.5"), (int, " 3"), (float, "1e3"), (Format, "yaml"), (bool, "yes"),
])
def test_anything_else_is_left_to_typer(annotation: Any, value: Any) -> None:
    assert _plain(annotation, value)[0] is False


def test_compare_starts_without_pydantic() -> None:
    code = ("import sys, io, contextlib\nfrom convcost.cli.app import app\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    app(args=['compare', '-k', '3', '--in', '8', '--out', '8', '--no-reference'],"
            " standalone_mode=False)\n"
            "print(sorted(m for m in ('pydantic', 'torch') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


YAML_PATH_SKIPS = (
    "torch", "pydantic", "rich.console", "rich.table", "convcost.frontends.onnx_load",
    "convcost.frontends.torch_source", "convcost.frontends.torch_archive",
    "convcost.frontends.torch_inputs", "convcost.report.analysis_table",
    "convcost.reference.model",
)


def test_yaml_json_path_imports_no_table_torch_or_onnx_machinery() -> None:
    """`analyze model.yaml --no-reference --format json` renders no table, reads no torch or
    ONNX model and writes no file: the modules for those stay unimported."""
    code = ("import sys, io, contextlib\nfrom convcost.cli.app import app\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    app(args=['analyze', 'configs/mobilenet_v1.yaml', '--no-reference', "
            "'--format', 'json'], standalone_mode=False)\n"
            "assert out.getvalue().startswith('{')\n"
            f"print(sorted(m for m in {YAML_PATH_SKIPS!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_a_ctrl_c_inside_the_import_machinery_waits_until_it_is_out() -> None:
    """A Ctrl-C that lands in the import machinery's own code (a module lock's weakref
    callback, where a raised exception is printed as "Exception ignored" and lost) is not
    raised there: it waits for a timer, as one during an import does, and is raised after."""
    import signal
    import types

    from convcost import cli_signal
    from convcost._interrupt import Interrupted

    frozen: Any = types.SimpleNamespace(f_code=types.SimpleNamespace(
        co_filename="<frozen importlib._bootstrap>"))
    ordinary: Any = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename=__file__))
    before = signal.getsignal(signal.SIGALRM)
    try:
        cli_signal._on_sigint(signal.SIGINT, frozen)  # deferred: no exception here
        assert signal.getsignal(signal.SIGALRM) is cli_signal._raise_when_safe
        cli_signal._raise_when_safe(signal.SIGALRM, frozen)  # still inside: waits again
        with pytest.raises(Interrupted):
            cli_signal._raise_when_safe(signal.SIGALRM, ordinary)
        with pytest.raises(Interrupted):
            cli_signal._on_sigint(signal.SIGINT, ordinary)
    finally:
        cli_signal.settle()
        cli_signal.received.clear()
        signal.signal(signal.SIGALRM, before)
