"""Output formats and the plain-text serialisers shared by every report."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
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
    return "".join(iter_json(data))


JSON_CHUNK = 1_000
"""Entries of a long list encoded and handed out together by :func:`iter_json`."""


def iter_json(data: Mapping[str, Any]) -> Iterator[str]:
    """:func:`to_json`'s text in pieces, so a big document is written without being built
    (and copied) whole first."""
    dumps = json.dumps
    yield "{\n"
    for n, (key, value) in enumerate(data.items()):
        yield (",\n" if n else "") + f"  {dumps(key)}: "
        if isinstance(value, list) and len(value) > LONG_LIST:
            yield "[\n"
            for start in range(0, len(value), JSON_CHUNK):
                chunk = value[start:start + JSON_CHUNK]
                yield (",\n" if start else "") + ",\n".join(
                    "    " + dumps(v, ensure_ascii=False) for v in chunk)
            yield "\n  ]"
        else:
            yield dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    yield "\n}\n"


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    import csv  # only when CSV is written

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
