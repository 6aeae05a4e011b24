"""Every class of bad input is an InputError reading ``file:line:col: key.path: message``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from convcost.errors import InputError, ShapeError
from convcost.frontends.yaml_records import records_from_spec
from convcost.frontends.yaml_spec import SpecError, load_spec, parse_spec

HEAD = "name: t\ninput: [3, 8, 8]\n"


def fail(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        spec = parse_spec(text, filename="m.yaml")
        records_from_spec(spec)
    err = info.value
    assert err.context.file == "m.yaml"
    assert err.context.line is not None and err.context.col is not None
    assert err.context.key
    assert str(err).startswith(
        f"m.yaml:{err.context.line}:{err.context.col}: {err.context.key}: "
    )
    return err


def where(err: InputError) -> tuple[int | None, int | None, str | None]:
    return err.context.line, err.context.col, err.context.key


CASES = [
    # (name, text, (line, col, key), words in the message)
    ("yaml syntax", HEAD + "layers: [flatten\n", (4, 1, "<document>"), "syntax"),
    ("unclosed quote", HEAD + "layers:\n  - conv: {out: \"8, kernel: 3}\n", None, "syntax"),
    ("empty file", "", (1, 1, "<document>"), "empty"),
    ("only a comment", "# nothing\n", (1, 1, "<document>"), "empty"),
    ("not a mapping", "- conv\n- flatten\n", (1, 1, "<document>"), "mapping"),
    ("scalar document", "42\n", (1, 1, "<document>"), "mapping"),
    ("python tag", HEAD + "layers:\n  - conv: !!python/object:os.system {out: 8}\n",
     (4, 11, "layers[0].conv"), "tag"),
    ("python name tag", HEAD + "name2: !!python/name:os.system ''\nlayers: [flatten]\n",
     (3, 8, "name2"), "tag"),
    ("custom tag", HEAD + "layers:\n  - conv: {out: !big 8, kernel: 3}\n",
     (4, 17, "layers[0].conv.out"), "tag"),
    ("bad int tag", HEAD + "layers:\n  - conv: {out: !!int abc, kernel: 3}\n",
     (4, 17, "layers[0].conv.out"), "int"),
    ("unknown top key", "name: t\ninput: [3, 8, 8]\nlayer:\n  - flatten\n",
     (3, 1, "layer"), "did you mean 'layers'"),
    ("missing layers", "name: t\ninput: [3, 8, 8]\n", (1, 1, "<document>"), "layers"),
    ("unknown kind", HEAD + "layers:\n  - conf: {out: 8, kernel: 3}\n",
     (4, 5, "layers[0].conf"), "did you mean 'conv'"),
    ("unknown bare kind", HEAD + "layers:\n  - flaten\n", (4, 5, "layers[0]"),
     "did you mean 'flatten'"),
    ("unknown key", HEAD + "layers:\n  - conv: {out: 8, kernal: 3}\n",
     (4, 20, "layers[0].conv.kernal"), "did you mean 'kernel'"),
    ("misindented options", HEAD + "layers:\n  - conv:\n    out: 8\n",
     (5, 5, "layers[0].out"), "indented"),
    ("duplicate key", HEAD + "layers:\n  - conv: {out: 8, out: 4, kernel: 3}\n",
     (4, 20, "layers[0].conv.out"), "duplicate"),
    ("duplicate name", HEAD + "layers:\n  - flatten: {name: a}\n  - dropout: {name: a}\n",
     (5, 21, "layers[1].dropout.name"), "duplicate layer name"),
    ("residual channels", HEAD + "layers:\n  - residual:\n      body:\n"
     "        - conv: {out: 16, kernel: 3}\n", (4, 5, "layers[0].residual"), "[16, 8, 8]"),
    ("residual sizes", HEAD + "layers:\n  - residual:\n      body:\n"
     "        - conv: {out: 3, kernel: 3, stride: 2}\n      shortcut:\n"
     "        - conv: {out: 3, kernel: 1}\n", (4, 5, "layers[0].residual"), "[3, 4, 4]"),
    ("concat sizes", HEAD + "layers:\n  - branches:\n      paths:\n"
     "        - [conv: {out: 8, kernel: 3}]\n        - [conv: {out: 8, kernel: 3, stride: 2}]\n",
     (4, 5, "layers[0].branches"), "concat"),
    ("branch add channels", HEAD + "layers:\n  - branches:\n      join: add\n      paths:\n"
     "        - [pointwise: {out: 8}]\n        - [pointwise: {out: 4}]\n",
     (4, 5, "layers[0].branches"), "add"),
    ("negative size", HEAD + "layers:\n  - conv: {out: -8, kernel: 3}\n",
     (4, 17, "layers[0].conv.out"), ">= 1"),
    ("zero stride", HEAD + "layers:\n  - conv: {out: 8, kernel: 3, stride: [1, 0]}\n",
     (4, 43, "layers[0].conv.stride[1]"), ">= 1"),
    ("non-integer size", HEAD + "layers:\n  - conv: {out: 8.5, kernel: 3}\n",
     (4, 17, "layers[0].conv.out"), "integer"),
    ("non-integer expression", HEAD + "variables: {c: 5}\nlayers:\n"
     "  - conv: {out: c/2, kernel: 3}\n", (5, 17, "layers[0].conv.out"), "integer"),
    ("bool size", HEAD + "layers:\n  - conv: {out: 8, kernel: yes}\n",
     (4, 28, "layers[0].conv.kernel"), "number"),
    ("string size", HEAD + "layers:\n  - conv: {out: 8, kernel: 3x3}\n",
     (4, 28, "layers[0].conv.kernel"), "unexpected"),
    ("kernel list length", HEAD + "layers:\n  - conv: {out: 8, kernel: [3, 3, 3]}\n",
     (4, 28, "layers[0].conv.kernel"), "2 value"),
    ("kernel larger than input", HEAD + "layers:\n  - conv: {out: 8, kernel: 11, padding: valid}\n",
     (4, 28, "layers[0].conv.kernel"), "larger"),
    ("pool larger than input", HEAD + "layers:\n  - pool: {kernel: 9}\n",
     (4, 20, "layers[0].pool.kernel"), "larger"),
    ("groups", HEAD + "layers:\n  - conv: {out: 8, kernel: 3, groups: 2}\n",
     (4, 5, "layers[0].conv"), "groups"),
    ("conv after flatten", HEAD + "layers:\n  - flatten\n  - conv: {out: 8, kernel: 1}\n",
     (5, 5, "layers[1].conv"), "spatial"),
    ("undefined variable", HEAD + "variables: {width: 8}\nlayers:\n"
     "  - conv: {out: 2*widht, kernel: 3}\n", (5, 17, "layers[0].conv.out"),
     "did you mean 'width'"),
    ("undefined in variables", HEAD + "variables: {a: b + 1}\nlayers: [flatten]\n",
     (3, 16, "variables.a"), "undefined variable 'b'"),
    ("circular variables", HEAD + "variables:\n  a: b + 1\n  b: 2*a\nlayers: [flatten]\n",
     (4, 6, "variables.a"), "circular"),
    ("self reference", HEAD + "variables:\n  a: a\nlayers: [flatten]\n",
     (4, 6, "variables.a"), "circular"),
    ("division by zero", HEAD + "variables:\n  a: 4 // (2 - 2)\nlayers: [flatten]\n",
     (4, 6, "variables.a"), "division by zero"),
    ("bad activation", HEAD + "layers:\n  - activation: rellu\n",
     (4, 17, "layers[0].activation.function"), "did you mean 'relu'"),
    ("bad input", "input: [3]\nlayers: [flatten]\n", (1, 8, "input"), "input"),
    ("bad dtype", HEAD + "dtype: float33\nlayers: [flatten]\n", (3, 8, "dtype"), "dtype"),
    ("huge repeat", HEAD + "layers:\n  - flatten: {repeat: 99999999}\n",
     (4, 23, "layers[0].flatten.repeat"), "repeat"),
    ("bad name", HEAD + "layers:\n  - flatten: {name: a.b}\n",
     (4, 21, "layers[0].flatten.name"), "name"),
    ("alias bomb", "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", None,
     "too large"),
    ("recursive alias", "a: &a [*a]\n", (1, 4, "a[0]"), "recursive"),
    ("two documents", HEAD + "layers: [flatten]\n---\nname: u\n", None, "single document"),
    ("squeeze and ratio", HEAD + "layers:\n  - squeeze_excite: {squeeze: 8, ratio: 0.5}\n",
     (4, 41, "layers[0].squeeze_excite.ratio"), "one of 'squeeze', 'ratio' or 'reduce'"),
    ("bad gate", HEAD + "layers:\n  - squeeze_excite: {gate: softmax}\n",
     (4, 28, "layers[0].squeeze_excite.gate"), "unknown value 'softmax'"),
    ("bad ratio", HEAD + "layers:\n  - squeeze_excite: {ratio: 2}\n",
     (4, 29, "layers[0].squeeze_excite.ratio"), "(0, 1]"),
    ("squeeze-excite after flatten", HEAD + "layers:\n  - flatten\n  - squeeze_excite\n",
     (5, 5, "layers[1].squeeze_excite"), "spatial"),
    ("shuffle groups", HEAD + "layers:\n  - channel_shuffle: {groups: 2}\n",
     (4, 31, "layers[0].channel_shuffle.groups"), "divisible by 2"),
    ("shuffle without groups", HEAD + "layers:\n  - channel_shuffle: {name: s}\n",
     (4, 5, "layers[0].channel_shuffle"), "needs 'groups'"),
    ("mul join shapes", HEAD + "layers:\n  - branches:\n      join: mul\n      paths:\n"
     "        - [pointwise: {out: 4}]\n        - []\n", (4, 5, "layers[0].branches"),
     "cannot broadcast"),
    ("bad join", HEAD + "layers:\n  - branches:\n      join: mull\n      paths: [[], []]\n",
     (5, 13, "layers[0].branches.join"), "did you mean 'mul'"),
    ("bad scale word", HEAD + "layers:\n  - pointwise: {out: 8, scale: down}\n",
     (4, 32, "layers[0].pointwise.scale"), "true, false or up"),
    ("upsample without scale or size", HEAD + "layers:\n  - upsample: {mode: bilinear}\n",
     (4, 5, "layers[0].upsample"), "one of 'scale'"),
    ("upsample scale and size", HEAD + "layers:\n  - upsample: {scale: 2, size: 4}\n",
     (4, 5, "layers[0].upsample"), "one of 'scale'"),
    ("upsample zero scale", HEAD + "layers:\n  - upsample: {scale: 0}\n",
     (4, 23, "layers[0].upsample.scale"), "positive"),
    ("upsample mode", HEAD + "layers:\n  - upsample: {mode: cubic, scale: 2}\n",
     (4, 22, "layers[0].upsample.mode"), "did you mean 'bicubic'"),
    ("upsample mode and rank", HEAD + "layers:\n  - upsample: {mode: trilinear, scale: 2}\n",
     (4, 5, "layers[0].upsample"), "trilinear"),
]


@pytest.mark.parametrize(("text", "expect", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input(text: str, expect: tuple[int, int, str] | None, words: str | None) -> None:
    err = fail(text)
    if expect is not None:
        assert where(err) == expect, str(err)
    if words is not None:
        assert words in str(err)


def test_errors_are_input_errors_with_exit_code_2() -> None:
    err = fail(HEAD + "layers:\n  - conv: {out: 8, kernel: 11, padding: valid}\n")
    assert isinstance(err, ShapeError) and err.exit_code == 2
    err = fail(HEAD + "layers:\n  - conf: {}\n")
    assert isinstance(err, SpecError) and err.exit_code == 2


def test_message_format_exactly() -> None:
    err = fail(HEAD + "layers:\n  - conv: {out: 8, kernal: 3}\n")
    assert re.match(r"^m\.yaml:4:20: layers\[0\]\.conv\.kernal: unknown key 'kernal'", str(err))


def test_nested_key_paths() -> None:
    text = HEAD + (
        "layers:\n"
        "  - block:\n"
        "      name: stage\n"
        "      layers:\n"
        "        - residual:\n"
        "            body:\n"
        "              - conv: {out: 3, kernel: 3, stidre: 1}\n"
    )
    err = fail(text)
    assert err.context.key == "layers[0].block.layers[0].residual.body[0].conv.stidre"
    assert (err.context.line, err.context.col) == (9, 43)


def test_load_spec_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_spec(tmp_path / "nope.yaml")


def test_load_spec_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(InputError):
        load_spec(p)


@pytest.mark.parametrize("alpha", [0, -1, float("nan"), float("inf")])
def test_bad_width_mult(alpha: float) -> None:
    with pytest.raises(InputError) as info:
        parse_spec(HEAD + "layers: [flatten]\n", width_mult=alpha)
    assert info.value.context.flag == "--width-mult"


def test_bad_resolution() -> None:
    with pytest.raises(InputError) as info:
        parse_spec(HEAD + "layers: [flatten]\n", resolution=0)
    assert info.value.context.flag == "--resolution"
