"""The Rich console the CLI renders with (imported only when something is rendered: Rich's
console module is a good part of start-up)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.segment import Segment

from convcost.cli.safety import clean_text


class CleanConsole(Console):
    """A Rich console that never passes a control character of the data to the terminal
    (Rich's own styling codes are added after this)."""

    def render(self, renderable: Any, options: Any = None) -> Any:
        for segment in super().render(renderable, options):
            if segment.control is None and segment.text:
                cleaned = clean_text(segment.text)
                if cleaned is not segment.text:
                    segment = Segment(cleaned, segment.style, segment.control)
            yield segment
