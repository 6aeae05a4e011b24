"""Fuzz: the loader gives a spec or an InputError for any document, never another exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from convcost.errors import InputError
from convcost.frontends.yaml_records import analyze_spec, records_from_spec
from convcost.frontends.yaml_spec import TOP_KEYS, kind_keys, parse_spec
from tests.fuzz_settings import fuzz

KINDS = kind_keys()

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
DOCS = {p.name: yaml.safe_load(p.read_text()) for p in sorted(CONFIGS.glob("*.yaml"))}
# the small ones, so that each example stays fast
SMALL = {k: v for k, v in DOCS.items() if k in ("mobilenet_v1.yaml", "mobilenet_v2.yaml",
                                               "mobilenet_v3_small.yaml", "vgg16.yaml",
                                               "xception.yaml")}

VOCAB = sorted({*TOP_KEYS, *KINDS, *(k for keys in KINDS.values() for k in keys)})
WORDS = ["same", "valid", "auto", "relu", "batch", "none", "concat", "add", "max", "avg",
         "2*c", "c // 2", "in", "in*6", "(1+", "1/0", "c", "-3", "1e9", "mul", "up",
         "hardsigmoid", "swish", "hswish", "sigmoid", "0.25", "bilinear", "nearest", "1.5",
         "1e99999999", "٣", "²", "1:00:00", "0x1F", "0b101", "1_000", "c / 1e-300",
         "99999 * 99999 * 99999", "\x1b[2J", "8\x00", "(" * 60 + "1" + ")" * 60, "9" * 40]

scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-5, max_value=40),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS), st.text(max_size=8),
)
keys = st.one_of(st.sampled_from(VOCAB), st.text(max_size=6))
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=25,
)


def check(text: str) -> None:
    try:
        spec = parse_spec(text, filename="fuzz.yaml")
        records_from_spec(spec, batch=2)
        analyze_spec(spec)
    except InputError as err:
        assert str(err).startswith("fuzz.yaml"), str(err)


FAST = fuzz(120)


@FAST
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    check(text)


@FAST
@given(st.dictionaries(keys, values, max_size=6),
       st.lists(st.dictionaries(st.sampled_from(sorted(KINDS)), values, min_size=1,
                                max_size=1), max_size=6),
       st.lists(st.integers(min_value=-2, max_value=40), max_size=5))
def test_random_documents(top: dict[Any, Any], layers: list[Any], shape: list[int]) -> None:
    doc = dict(top)
    doc.setdefault("input", shape)
    doc.setdefault("layers", layers)
    check(yaml.safe_dump(doc))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        node = node[p]
    return node


mutation = st.one_of(
    st.just(("drop", None)),
    st.tuples(st.just("set"), values),
    st.tuples(st.just("set"), st.integers(min_value=-(10**6), max_value=0)),
    st.tuples(st.just("set"), st.sampled_from([10**6, 10**9, 10**15, 99, 1000])),
    st.tuples(st.just("key"), keys),
)


@fuzz(150)
@given(st.sampled_from(sorted(SMALL)), st.lists(st.tuples(st.floats(0, 1), mutation),
                                                min_size=1, max_size=3))
def test_mutated_configs(name: str, mutations: list[tuple[float, tuple[str, Any]]]) -> None:
    doc = copy.deepcopy(SMALL[name])
    for where, (how, value) in mutations:
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = paths[min(int(where * len(paths)), len(paths) - 1)]
        parent = _get(doc, path[:-1])
        last = path[-1]
        if how == "drop":
            del parent[last]
        elif how == "set":
            parent[last] = value
        elif isinstance(parent, dict):
            parent[value] = parent.pop(last)
    check(yaml.safe_dump(doc, sort_keys=False))
