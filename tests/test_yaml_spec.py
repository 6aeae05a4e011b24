"""Format features: variables, expressions, names, width and resolution, dtype."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.core.dtypes import DType
from convcost.core.ops import Conv, Linear
from convcost.frontends.yaml_expr import ExprError, evaluate
from convcost.frontends.yaml_records import records_from_spec
from convcost.frontends.yaml_spec import make_divisible, parse_spec


def names(text: str, **kw: object) -> list[str]:
    return [r.name for r in records_from_spec(parse_spec(text, **kw))]  # type: ignore[arg-type]


@pytest.mark.parametrize(("expr", "value"), [
    ("2*c", 16), ("c // 3", 2), ("(c + 8) * 2 - 1", 31), ("-c + 10", 2), ("c / 2", 4.0),
    ("7 // 2 * 2", 6), ("1.5 * 4", 6.0), ("--c", 8),
])
def test_expressions(expr: str, value: float) -> None:
    assert evaluate(expr, lambda n: {"c": 8}[n]) == value


@pytest.mark.parametrize("expr", ["", "2 *", "(1", "1)", "2 ** 3", "c.x", "__import__('os')",
                                  "1 / 0", "9" * 600])
def test_bad_expressions(expr: str) -> None:
    with pytest.raises(ExprError):
        evaluate(expr, lambda n: 1)


def test_variables_in_any_order_and_expressions_everywhere() -> None:
    spec = parse_spec(
        "input: [3, s, s]\nvariables:\n  c: 2*b\n  b: 4\n  s: b * 8\n  k: (b - 1) // 1\n"
        "layers:\n  - conv: {out: c, kernel: k, stride: b // 2, padding: valid}\n"
    )
    assert spec.input_shape == (3, 32, 32)
    assert spec.variables == {"c": 8, "b": 4, "s": 32, "k": 3}
    op = records_from_spec(spec)[0].op
    assert isinstance(op, Conv)
    assert (op.out_channels, op.kernel, op.stride) == (8, (3, 3), (2, 2))
    assert spec.output_shape == (8, 15, 15)


def test_auto_names_skip_explicit_ones() -> None:
    got = names("input: [3, 8, 8]\nlayers:\n  - pointwise: {out: 4}\n"
                "  - pointwise: {out: 4, name: pointwise2}\n  - pointwise: {out: 4}\n"
                "  - batchnorm\n")
    assert got == ["pointwise1", "pointwise2", "pointwise3", "batchnorm1"]


def test_repeat_and_block_paths() -> None:
    got = names("input: [3, 8, 8]\nlayers:\n  - block:\n      name: s\n      repeat: 2\n"
                "      layers:\n        - conv: {out: 3, kernel: 3, activation: relu}\n")
    assert got == ["s.0.conv1.conv", "s.0.conv1.act", "s.1.conv1.conv", "s.1.conv1.act"]


def test_residual_and_branch_paths() -> None:
    got = names("input: [4, 8, 8]\nlayers:\n  - residual:\n      name: r\n"
                "      body: [pointwise: {out: 8}]\n      shortcut: [pointwise: {out: 8}]\n"
                "      activation: relu\n  - branches:\n      paths: [[batchnorm], []]\n")
    assert got == ["r.body.pointwise1", "r.shortcut.pointwise1", "r.add", "r.act",
                   "branches1.0.batchnorm1", "branches1.concat"]


def test_in_refers_to_input_channels_and_is_not_rescaled() -> None:
    text = ("input: [3, 8, 8]\nlayers:\n  - pointwise: {out: 10}\n"
            "  - pointwise: {out: \"in*3\"}\n  - pointwise: {out: 10, scale: false}\n"
            "  - global_pool\n  - flatten\n  - linear: {out: 7}\n"
            "  - linear: {out: 8, scale: true}\n")
    recs = records_from_spec(parse_spec(text, width_mult=0.5))
    outs = [r.op.out_channels if isinstance(r.op, Conv) else r.op.out_features
            for r in recs if isinstance(r.op, Conv | Linear)]
    assert outs == [5, 15, 10, 7, 4]
    assert recs[0].inputs == ((1, 3, 8, 8),)


def test_make_divisible_is_torchvisions() -> None:
    assert make_divisible(32 * 0.35, 8) == 16
    assert make_divisible(24 * 0.5, 8) == 16
    assert make_divisible(7.5, 1) == 8
    assert make_divisible(0.2, 1) == 1


def test_resolution_replaces_every_spatial_size() -> None:
    spec = parse_spec("input: [1, 10, 20, 30]\nlayers: [flatten]\n", resolution=4)
    assert spec.input_shape == (1, 4, 4, 4)
    assert spec.output_shape == (64,)


def test_dtype_and_name() -> None:
    spec = parse_spec("name: n\ndtype: fp16\ninput: [3, 8]\nlayers: [flatten]\n")
    assert (spec.name, spec.dtype) == ("n", DType.FLOAT16)
    assert parse_spec("input: [3, 8]\nlayers: [flatten]\n", filename="a/b.yaml").name == "b"


def test_batch_goes_into_record_shapes() -> None:
    recs = records_from_spec(parse_spec("input: [3, 8]\nlayers: [flatten]\n"), batch=5)
    assert recs[0].inputs == ((5, 3, 8),)


def test_yaml_merge_keys_and_anchors() -> None:
    text = ("input: [3, 8, 8]\nlayers:\n  - conv: &c {out: 4, kernel: 3}\n"
            "  - conv: {<<: *c, out: 6}\n")
    recs = records_from_spec(parse_spec(text))
    assert [r.op.out_channels for r in recs] == [4, 6]  # type: ignore[attr-defined]


def test_separable_parts_can_be_switched_off() -> None:
    got = names("input: [3, 8, 8]\nlayers:\n  - separable: {out: 4, name: s, dw_norm: none,"
                " dw_activation: none, activation: none}\n")
    assert got == ["s.dw", "s.pw", "s.pw_bn"]


def _unrolled(body: str, times: int) -> str:
    items = "".join(f"        - block:\n            name: '{r}'\n            layers:\n{body}"
                    for r in range(times))
    return f"input: [8, 16, 16]\nlayers:\n  - block:\n      name: stack\n      layers:\n{items}"


@pytest.mark.parametrize("first_stride", [1, 2])
def test_a_repeated_block_gives_the_records_of_the_block_written_out(first_stride: int) -> None:
    """A repetition is compiled once per input shape it meets and reused under its own name:
    the records (names, ops, shapes) equal those of the same blocks written out one by one,
    whether the shape stays (every repetition reused) or shrinks (stride 2: each compiled)."""
    body = (f"              - conv: {{out: 8, kernel: 3, stride: {first_stride}, "
            f"norm: batch, activation: relu}}\n"
            "              - residual:\n"
            "                  body: [{depthwise: {kernel: 3}}, {pointwise: {out: in}}]\n")
    repeated = ("input: [8, 16, 16]\nlayers:\n  - block:\n      name: stack\n      repeat: 3\n"
                "      layers:\n" + body.replace("              ", "        "))
    ours = records_from_spec(parse_spec(repeated))
    theirs = records_from_spec(parse_spec(_unrolled(body, 3)))
    assert [(r.path, r.op, r.inputs) for r in ours] == [(r.path, r.op, r.inputs) for r in theirs]
    assert len(ours) == 3 * 6


def test_an_error_in_a_repetition_names_its_place_once() -> None:
    text = ("input: [8, 16, 16]\nlayers:\n  - block:\n      repeat: 4\n"
            "      layers:\n        - conv: {out: 8, kernel: 3, stride: 2, padding: valid}\n")
    with pytest.raises(Exception, match=r"layers\[0\]\.block\.layers\[0\]\.conv"):
        parse_spec(text)  # 16 -> 7 -> 3 -> 1: a 3×3 kernel no longer fits the fourth


def test_a_repeated_block_of_one_shape_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from convcost.frontends.yaml_compile import Compiler

    calls: list[str] = []
    one = Compiler.one

    def counted(self: Compiler, o: Any, name: str, shape: tuple[int, ...]) -> Any:
        calls.append(o.kind)
        return one(self, o, name, shape)

    monkeypatch.setattr(Compiler, "one", counted)
    text = ("input: [8, 16, 16]\nlayers:\n  - block:\n      repeat: 500\n      layers:\n"
            "        - conv: {out: 8, kernel: 3}\n        - batchnorm\n  - global_pool\n")
    spec = parse_spec(text)
    assert calls.count("conv") == 1 and calls.count("block") == 1
    assert len(records_from_spec(spec)) == 2 * 500 + 1
