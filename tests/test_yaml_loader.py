"""The YAML reader: libyaml where available with the pure-Python loader's positions and messages,
and a guard that refuses alias and merge-key bombs but not large honest files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from convcost.errors import InputError
from convcost.frontends import yaml_nodes
from convcost.frontends.yaml_nodes import MAX_REPEATS, YMap, YNode, read_yaml
from convcost.frontends.yaml_records import records_from_spec
from convcost.frontends.yaml_spec import parse_spec
from tests.test_yaml_errors import CASES

CONFIGS = sorted(Path(__file__).resolve().parent.parent.joinpath("configs").glob("*.yaml"))
needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")

TRICKY = [
    "a: &x {b: 1, c: [1, 2.5, null, true, 'q', \"é\"]}\nd: *x\ne: {<<: *x, b: 2}\n",
    "layers:\n  - conv: {out: 3, kernel: 3}   # comment ü\n  - \"ünï\": [1,\n      2]\n",
    "k: |\n  multi\n  line\nl: >\n  folded\n  text\nm: 2024-01-01\nn: 0x1f\no: ~\n",
    "s:\n- - a\n  - b\n-   {x: y}\n? complex\n: value\n",
    "tab\u00e9: \"\\t esc \\u00e9\"\nwide: 漢字漢字\nafter: 1\n",
]


def _without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_nodes, "_FastLoader", None)


@needs_libyaml
@pytest.mark.parametrize("text", [p.read_text() for p in CONFIGS] + TRICKY,
                         ids=[p.stem for p in CONFIGS] + [f"tricky{i}" for i in
                                                          range(len(TRICKY))])
def test_libyaml_gives_the_same_positioned_tree(text: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fast = read_yaml(text, "m.yaml")
    _without_libyaml(monkeypatch)
    slow = read_yaml(text, "m.yaml")
    assert fast == slow
    assert isinstance(fast, YMap)


def _error(text: str) -> str:
    with pytest.raises(InputError) as info:
        records_from_spec(parse_spec(text, filename="m.yaml"))
    return str(info.value)


@needs_libyaml
@pytest.mark.parametrize("text", [c[1] for c in CASES] + [
    "a: [1, 2\n", "a: 'x\n", "a:\n\t- b\n", "a: \x07\n", "- a\n b: c\n", "a: !!binary aGk=\n",
    "{a: 1, a: 2}\n", "a: &x 1\nb: *y\n", "a: 1\n---\nb: 2\n", "a: {<<: [1]}\n",
    "a: " + "[" * 2000 + "]" * 2000 + "\n",
], ids=[c[0] for c in CASES] + [f"extra{i}" for i in range(11)])
def test_libyaml_keeps_every_message_and_position(text: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _error(text)
    _without_libyaml(monkeypatch)
    assert _error(text) == fast


def _alias_bomb() -> str:
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def _merge_bomb(levels: int = 40) -> str:
    """Each mapping merges the previous one twice: 2**levels pairs without de-duplication."""
    lines = ["m0: &m0 {k0: 0, j0: 0}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: {i}, j{i}: {i}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("libyaml", [True, False])
def test_alias_bomb_is_refused(libyaml: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not libyaml:
        _without_libyaml(monkeypatch)
    with pytest.raises(InputError, match="too large"):
        read_yaml(_alias_bomb(), "bomb.yaml")


def test_merge_key_bomb_is_refused_without_pyyaml_flatten(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # PyYAML's flatten_mapping before 6.0.2 copies merged pairs without de-duplication: the
    # reader must never rely on it, whatever PyYAML is installed.
    def refuse(*_: object) -> None:
        raise AssertionError("PyYAML's flatten_mapping was called")

    monkeypatch.setattr(yaml.SafeLoader, "flatten_mapping", refuse)
    monkeypatch.setattr(yaml.constructor.SafeConstructor, "flatten_mapping", refuse)
    text = _merge_bomb()
    try:
        node = read_yaml(text, "bomb.yaml")
    except InputError as err:
        assert "too large" in str(err)
    else:  # de-duplicated merges stay small: the document is read, and correctly
        assert isinstance(node, YMap)
        last = node.items["m39"]
        assert isinstance(last, YMap) and len(last.items) == 80


def test_merges_resolve_as_before() -> None:
    node = read_yaml("a: &x {b: 1, c: 2}\nd: {<<: *x, b: 3}\ne: {<<: [*x, {f: 4}]}\n", "m")
    assert isinstance(node, YMap)
    d, e = node.items["d"], node.items["e"]
    assert isinstance(d, YMap) and isinstance(e, YMap)
    assert {k: v.value for k, v in d.items.items()} == {"b": 3, "c": 2}  # type: ignore[union-attr]
    assert sorted(e.items) == ["b", "c", "f"]


def _count(node: YNode) -> int:
    if isinstance(node, YMap):
        return 1 + sum(_count(v) for v in node.items.values())
    if hasattr(node, "items"):
        return 1 + sum(_count(v) for v in node.items)
    return 1


def test_a_large_honest_file_is_not_a_bomb() -> None:
    items = MAX_REPEATS // 5 + 10  # five nodes an item: more than any alias may repeat
    text = "big:\n" + "  - {a: 1, b: 2, c: 3, d: 4}\n" * items
    node = read_yaml(text, "big.yaml")
    assert _count(node) > MAX_REPEATS


def test_a_written_out_model_is_analysed() -> None:
    text = "name: big\ninput: [4, 4]\nlayers:\n" + "  - activation: relu\n" * 2000
    assert len(records_from_spec(parse_spec(text, filename="big.yaml"))) == 2000
