"""The choices a budget run takes (light: the CLI imports them at start-up)."""

from __future__ import annotations

from convcost._compat import StrEnum


class Policy(StrEnum):
    """What a missing or incompatible baseline does to a ``max_increase`` check."""

    PASS = "pass"
    WARN = "warn"
    ERROR = "error"


class FailOn(StrEnum):
    ERROR = "error"
    WARN = "warn"
    NEVER = "never"


class CheckFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
