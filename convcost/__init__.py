"""convcost: what a convolutional network costs, and what it would cost depthwise separable."""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: `import typing` costs start-up time

if TYPE_CHECKING:
    from typing import Any

    from convcost.report.analysis import ModelReport


def analyze(model_or_path: Any, **options: Any) -> ModelReport:
    """Analyse a model or a YAML description; see :func:`convcost.api.analyze`."""
    from convcost.api import analyze as _analyze

    return _analyze(model_or_path, **options)


__all__ = ["__version__", "analyze"]
