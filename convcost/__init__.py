"""convcost: what a convolutional network costs, and what it would cost depthwise separable."""

from __future__ import annotations

__version__ = "0.1.0"

import sys as _sys

if _sys.argv and _sys.argv[0].replace("\\", "/").rsplit("/", 1)[-1] in ("convcost",
                                                                      "convcost.exe"):
    # the console script: Ctrl-C from here on is one line and exit 130, never a traceback
    from convcost.cli_signal import install as _install

    _install()

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `import typing` costs start-up time

if TYPE_CHECKING:
    from typing import Any

    from convcost.report.analysis import ModelReport


def analyze(model_or_path: Any, **options: Any) -> ModelReport:
    """Analyse a model or a YAML description; see :func:`convcost.api.analyze`."""
    from convcost.api import analyze as _analyze

    return _analyze(model_or_path, **options)


__all__ = ["__version__", "analyze"]
