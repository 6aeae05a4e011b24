"""Output formats and the plain-text serialisers shared by every report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from convcost._compat import StrEnum

SCHEMA_VERSION = 1


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


LONG_LIST = 50
"""Lists longer than this are written one compact entry per line."""


def to_json(data: Mapping[str, Any]) -> str:
    """Indented JSON; long lists (the layers of a big model) get one entry per line, which
    stays readable and diffable and lets the C encoder do the work (indent forces the slow
    pure-Python one: 10,000 layers took 1.2 s that way)."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and len(value) > LONG_LIST:
            entries = ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in value)
            body = "[\n" + entries + "\n  ]"
        else:
            body = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {body}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _md_cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(header: Sequence[str], rows: Sequence[Sequence[Any]], *,
                align_right: Sequence[bool] | None = None) -> str:
    right = align_right or [False] * len(header)
    lines = [
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join("---:" if r else "---" for r in right) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
