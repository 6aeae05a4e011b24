"""The Typer application and its one error boundary."""

from __future__ import annotations

import gc
import os
import re
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
from convcost.cli import _plain_params, analyze, check, compare, diff, safety, sweep
from convcost.cli.safety import SafeStream, clean_text
from convcost.cli_signal import received
from convcost.errors import AnalysisError, ConvcostError, Interrupted, first_line
from convcost.report.collect import GC_THRESHOLD

_plain_params.install()  # option values without importing pydantic


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
        gc.set_threshold(*GC_THRESHOLD)
        _ensure_streams()
        safety.reset()
        for name in ("COLUMNS", "LINES"):  # Rich reads them with int(): '²' passes isdigit()
            value = os.environ.get(name)
            if value is not None and not (value.isascii() and value.isdigit()
                                          and 0 < len(value) < 6):
                del os.environ[name]
        argv = list(sys.argv[1:] if args is None else args)
        bad = next((i for i, a in enumerate(argv) if _non_ascii_number(a)), None)
        if bad is not None:
            flag = argv[bad - 1] if bad and argv[bad - 1].startswith("-") else ""
            _fail(f"{flag + ': ' if flag else ''}{argv[bad]!r}: numbers are written with the "
                  "ASCII digits 0-9")
            code = 2
        else:
            code = self._run(argv, prog_name or "convcost", complete_var, extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: Any) -> Any:
        # typer turns a KeyboardInterrupt into exit 130 and a closed pipe into exit 1 before
        # this boundary sees them; here the model's own KeyboardInterrupt is exit 3 (a real
        # Ctrl-C is Interrupted, raised by the SIGINT handler, and passes through).
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise AnalysisError(f"the model raised {first_line(e)}") from e
        except BrokenPipeError:
            return 0

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
        except typer.Abort:
            _fail("aborted")
            return 130
        except Interrupted:
            return _interrupted()
        except ConvcostError as e:
            if received:
                return _interrupted()
            _fail(str(e))
            return e.exit_code
        except Exception as e:  # a bug in convcost: still one line, never a traceback
            if received:
                return _interrupted()
            if os.environ.get("CONVCOST_DEBUG"):
                raise
            _fail(f"internal error: {type(e).__name__}: {e} (set CONVCOST_DEBUG=1 for details)")
            return 3
        except SystemExit as e:  # only the model's code calls sys.exit inside a command
            if received:
                return _interrupted()
            if _stdout_dropped(e):
                # click or Rich met a closed stdout (`convcost analyze --help | head -1`) and
                # called sys.exit(1): the output was simply not wanted
                return 0
            _fail(f"the model called sys.exit({e.code!r})")
            return 3
        except BaseException as e:  # KeyboardInterrupt, GeneratorExit... raised by the model
            if received:
                return _interrupted()
            _fail(f"the model raised {first_line(e)}")
            return 3


def _stdout_dropped(exit_: SystemExit) -> bool:
    """Whether this sys.exit(1) is click's or Rich's answer to a closed stdout (they raise it
    from their own broken-pipe handling), not the model's."""
    tb = exit_.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    code = tb.tb_frame.f_code
    return code.co_name == "on_broken_pipe" or (
        type(sys.stdout).__name__ == "PacifyFlushWrapper" and code.co_name == "main")


def _interrupted() -> int:
    """The user's Ctrl-C, whatever the code it interrupted turned it into (an import cut
    half-way fails again with another error)."""
    _fail("interrupted")
    return 130


def _ensure_streams() -> None:
    """A closed stdout or stderr (``convcost ... >&-``) is a sink, not a crash: Python gives
    None for a file descriptor that was closed at start-up."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115


def _fail(message: str) -> None:
    line = " ".join(clean_text(message).split())
    stream = SafeStream(sys.stderr)
    stream.write(f"convcost: error: {line}\n")
    stream.flush()


_NUMBERISH = re.compile(r"[\w.,:;x×+\-=%]+")


def _non_ascii_number(arg: str) -> bool:
    """A number-like argument holding a digit other than 0-9 ('²', '٣', '½'), which Python's
    int() and float() would read or fail on; a path that exists is never one."""
    if arg.isascii() or not any(c.isnumeric() and not c.isascii() for c in arg):
        return False
    if not _NUMBERISH.fullmatch(arg.partition("=")[2] or arg):
        return False
    return not os.path.exists(arg)



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


# The commands are plain functions in their own modules (which never import this one);
# registering them here, once, is the whole wiring.
for _command, _example in (
    (analyze.analyze, analyze.EXAMPLE),
    (check.check, check.EXAMPLE),
    (compare.compare, compare.EXAMPLE),
    (diff.diff, diff.EXAMPLE),
    (sweep.sweep, sweep.EXAMPLE),
):
    app.command(epilog=_example)(_command)
