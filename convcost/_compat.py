"""What Python 3.10 lacks and convcost uses."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # pragma: no cover - exercised on Python 3.10 only
    from enum import Enum

    class StrEnum(str, Enum):
        """enum.StrEnum (3.11): members are strings and print as their value."""

        def __str__(self) -> str:
            return str(self.value)

__all__ = ["StrEnum"]
