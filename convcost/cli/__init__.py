"""The command-line interface; the only package that prints or exits."""

from __future__ import annotations

import sys

from convcost._interrupt import Interrupted
from convcost.cli_signal import install as _install


def main() -> None:
    _install()
    try:
        from convcost.cli.app import app
    except BaseException as err:
        if isinstance(err, Interrupted | KeyboardInterrupt):
            sys.stderr.write("convcost: error: interrupted\n")
            sys.exit(130)
        raise
    app()
