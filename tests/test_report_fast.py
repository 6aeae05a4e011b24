"""The linear-time renderers print exactly what the plain ones printed: the fitted layer table
(FastTable) against a whole Rich table, iter_json against one json.dumps per entry, and
--depth blocks against a from-scratch grouping."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

import convcost
from convcost.core.analysis import collapse
from convcost.report.analysis import _block_alt, lines_of
from convcost.report.analysis_table import _build_layer_table, layer_cells
from convcost.report.fast_table import FastTable, representative
from convcost.report.formats import LONG_LIST, iter_json, to_json

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def _render(renderable: Any, width: int, *, color: bool = False, record: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, color_system="truecolor"
                      if color else None, record=record, highlight=False, soft_wrap=False)
    console.print(renderable)
    if record:
        return console.export_svg(title="t") + console.export_html(inline_styles=True)
    return buf.getvalue()


def _tables(report: Any) -> tuple[FastTable, Table]:
    head, foot, rows = layer_cells(report)
    refs = tuple(report.reference)
    fast = FastTable(lambda some: _build_layer_table(head, foot, some, refs), rows)
    return fast, _build_layer_table(head, foot, rows, refs)


@pytest.fixture(scope="module")
def mobilenet() -> Any:
    return convcost.analyze(str(CONFIGS / "mobilenet_v1.yaml"))


@pytest.mark.parametrize("width", [30, 60, 90, 120, 200])
@pytest.mark.parametrize("color", [False, True])
def test_fast_layer_table_prints_what_rich_prints(mobilenet: Any, width: int,
                                                  color: bool) -> None:
    fast, whole = _tables(mobilenet)
    assert _render(fast, width, color=color) == _render(whole, width, color=color)


def test_fast_layer_table_exports_the_same_svg_and_html(mobilenet: Any) -> None:
    fast, whole = _tables(mobilenet)
    assert _render(fast, 140, record=True) == _render(whole, 140, record=True)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_fast_table_at_depth(depth: int) -> None:
    report = convcost.analyze(str(CONFIGS / "resnet50.yaml"), depth=depth)
    fast, whole = _tables(report)
    for width in (70, 160):
        assert _render(fast, width) == _render(whole, width)


def test_the_sample_decides_the_widths() -> None:
    rows = [["a", "1"], ["bbbbbbbb", "22"], ["c c c c c", "333333"], ["dd", "4"]]
    picked = representative(rows)
    assert 1 in picked and 2 in picked and 0 not in picked and 3 not in picked


def _representative_by_scan(rows: list[list[str]]) -> list[int]:
    """Every cell of every row, one by one: what representative() must pick."""
    from convcost.report.fast_table import is_plain, measure

    if not rows:
        return []
    columns = len(rows[0])
    best_min, best_max, best_len = ([(-1, 0)] * columns for _ in range(3))
    special: list[int] = []
    for index, row in enumerate(rows):
        for col, text in enumerate(row):
            if len(text) > best_len[col][0]:
                best_len[col] = (len(text), index)
            if not is_plain(text):
                special.append(index)
                continue
            lo, hi = measure(text)
            if lo > best_min[col][0]:
                best_min[col] = (lo, index)
            if hi > best_max[col][0]:
                best_max[col] = (hi, index)
    return sorted({i for _, i in (*best_min, *best_max, *best_len)} | set(special))


CELL = st.lists(st.sampled_from([*"ab cX.-→×²█漢[]:\t", "[b]", ":smile:", "wordwordword"]),
                max_size=12).map("".join)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=12),
       width=st.integers(min_value=12, max_value=90))
def test_any_cells_at_any_width(rows: list[list[str]], width: int) -> None:
    def build(some: Any) -> Table:
        table = Table(header_style="bold", show_footer=True, footer_style="bold")
        for i, h in enumerate(("name", "n", "text")):
            table.add_column(h, footer=f"f{i}", justify="right" if i == 1 else "left",
                             no_wrap=i == 1, overflow="fold")
        for r in some:
            table.add_row(*r)
        return table

    assert _render(FastTable(build, rows), width) == _render(build(rows), width)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from(["", "a", "bb", "a b", "→×", "x²", "漢字", "[b]",
                                                "c c c", "ddd", "9,216", " 1 "]),
                              min_size=3, max_size=3), max_size=30))
def test_representative_picks_what_a_scan_of_every_cell_picks(rows: list[list[str]]) -> None:
    assert representative(rows) == _representative_by_scan(rows)


# ---------------------------------------------------------------- --depth


def _groups_by_scan(rows: Any, depth: int) -> list[tuple[tuple[str, ...], int, int]]:
    out: list[tuple[tuple[str, ...], int, int]] = []
    for i, row in enumerate(rows):
        key = row.record.path[:depth]
        if out and out[-1][0] == key:
            out[-1] = (key, out[-1][1], i + 1)
        else:
            out.append((key, i, i + 1))
    return out


@pytest.mark.parametrize("config", ["xception", "resnet50", "mobilenet_v2"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_collapse_groups_and_sums(config: str, depth: int) -> None:
    analysis = convcost.analyze(str(CONFIGS / f"{config}.yaml")).analysis
    blocks = collapse(analysis.rows, depth)
    expect = _groups_by_scan(analysis.rows, depth)
    assert [(b.path, b.first, b.first + len(b.rows)) for b in blocks] == expect
    for b in blocks:
        assert b.rows == analysis.rows[b.first:b.first + len(b.rows)]
        assert b.cost.macs == sum(r.cost.macs for r in b.rows)
        assert b.cost.bytes == sum(r.cost.bytes for r in b.rows)
        assert b.cost.params == sum(r.cost.params for r in b.rows)
        assert b.cost.output_shape == b.rows[-1].cost.output_shape
    assert len(lines_of(analysis, depth)) == len(blocks)


def test_block_alternative_uses_the_blocks_own_rows() -> None:
    analysis = convcost.analyze(str(CONFIGS / "mobilenet_v1.yaml")).analysis
    for block in collapse(analysis.rows, 1):
        alt = _block_alt(analysis, block)
        if alt is None or block.is_leaf:
            continue
        rows = list(block.rows)
        first = analysis.rows.index(rows[0])
        assert first == block.first
        assert alt["macs"] > 0


# ---------------------------------------------------------------- JSON


def _json_by_hand(data: dict[str, Any]) -> str:
    """The document as it was written before it was streamed."""
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and len(value) > LONG_LIST:
            entries = ",\n".join("    " + json.dumps(v, ensure_ascii=False) for v in value)
            body = "[\n" + entries + "\n  ]"
        else:
            body = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {body}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


@pytest.mark.parametrize("size", [0, 3, LONG_LIST + 1, 2500])
def test_streamed_json_is_byte_identical(size: int) -> None:
    data: dict[str, Any] = {"schema": 1, "name": "é", "layers": [
        {"name": f"l{i}", "shape": [1, i], "alt": None if i % 2 else {"x": 1.5}}
        for i in range(size)], "totals": {"macs": 3}, "empty": []}
    text = "".join(iter_json(data))
    assert text == to_json(data) == _json_by_hand(data)
    assert json.loads(text) == data
    assert "".join(iter_json({})) == _json_by_hand({})


def test_report_json_is_byte_identical(mobilenet: Any) -> None:
    data = mobilenet.to_dict()
    assert mobilenet.to_json() == _json_by_hand(data)
