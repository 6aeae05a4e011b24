"""The Typer application and its one error boundary."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer >= 0.20 carries its own copy of click
    from typer._click import exceptions as cx
except ImportError:  # pragma: no cover - older typer on top of click
    from click import exceptions as cx  # type: ignore[no-redef,import-not-found,unused-ignore]

from convcost import __version__
from convcost.errors import ConvcostError


class _Boundary(TyperGroup):
    """Every failure becomes one line on stderr and a documented exit code.

    0 success; 1 a budget was exceeded; 2 bad input or usage; 3 the model could not be analysed.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        # A run allocates many small, long-lived objects (records, costs, rows) and frees
        # little: the default collector spends ~40% of a 100,000-layer analysis rescanning them.
        gc.set_threshold(100_000, 50, 100)
        code = self._run(args, prog_name or "convcost", complete_var, extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, args: Sequence[str] | None, prog_name: str, complete_var: str | None,
             extra: dict[str, Any]) -> int:
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
            return rv if isinstance(rv, int) else 0
        except cx.NoArgsIsHelpError as e:
            typer.echo(e.ctx.get_help() if e.ctx else "", err=True)
            return 2
        except cx.UsageError as e:
            hint = ""
            if e.ctx is not None:
                hint = f" (see '{e.ctx.command_path} --help')"
            _fail(f"{e.format_message()}{hint}")
            return 2
        except cx.ClickException as e:
            _fail(e.format_message())
            return 2
        except (typer.Abort, KeyboardInterrupt):
            _fail("aborted")
            return 130
        except ConvcostError as e:
            _fail(str(e))
            return e.exit_code
        except Exception as e:  # a bug in convcost: still one line, never a traceback
            if os.environ.get("CONVCOST_DEBUG"):
                raise
            _fail(f"internal error: {type(e).__name__}: {e} (set CONVCOST_DEBUG=1 for details)")
            return 3


def _fail(message: str) -> None:
    line = " ".join(message.split())
    typer.echo(f"convcost: error: {line}", err=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convcost {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=_Boundary,
    name="convcost",
    help="What a convolutional network costs — MACs, FLOPs, params, memory traffic — layer by "
    "layer, and what it would cost depthwise separable (or standard).",
    epilog="Example: convcost compare --kernel 3 --in 32 --out 64 --size 112",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """convcost: what a convolutional network costs."""


from convcost.cli import analyze as _analyze  # noqa: E402,F401
from convcost.cli import check as _check  # noqa: E402,F401
from convcost.cli import compare as _compare  # noqa: E402,F401  (registers the command)
from convcost.cli import diff as _diff  # noqa: E402,F401
from convcost.cli import sweep as _sweep  # noqa: E402,F401
