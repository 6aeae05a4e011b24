"""The ONNX front-end on hand-built graphs (onnx.helper): one per op family, expectations written
as arithmetic; dynamic inputs; bad files. Needs only the onnx package, never torch."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from convcost.cli.app import app  # noqa: E402
from convcost.core.analysis import Analysis  # noqa: E402
from convcost.core.ops import (  # noqa: E402
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Elementwise,
    Embedding,
    FreeParameter,
    Linear,
    Matmul,
    Norm,
    Pool,
    Reduce,
)
from convcost.errors import AnalysisError, InputError  # noqa: E402
from convcost.frontends.onnx_api import analyze_onnx_file  # noqa: E402
from convcost.frontends.onnx_load import NamedInput, parse_onnx_input  # noqa: E402
from convcost.frontends.onnx_names import assign_paths  # noqa: E402
from convcost.ops import Upsample  # noqa: E402

F = TensorProto.FLOAT


def weight(name: str, *shape: int, value: float | None = None) -> Any:
    rng = np.random.default_rng(len(name))
    data = np.full(shape, value, np.float32) if value is not None else \
        rng.standard_normal(shape).astype(np.float32)
    return numpy_helper.from_array(data, name)


def ints(name: str, values: Sequence[int]) -> Any:
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def make_model(graph: Any, opset: int) -> Any:
    """IR version 9 (ONNX 1.15): what onnxruntime releases of the last years read."""
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=9)


def save(tmp_path: Path, nodes: list[Any], inputs: dict[str, list[Any]], output: str,
         inits: Sequence[Any] = (), opset: int = 17, name: str = "m.onnx") -> str:
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(k, F, v) for k, v in inputs.items()],
        [helper.make_tensor_value_info(output, F, None)],
        initializer=list(inits),
    )
    model = make_model(graph, opset)
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def run(path: str, inputs: Sequence[Any] = ()) -> Analysis:
    return analyze_onnx_file(path, inputs)[0]


def test_conv_groups_dilation_pads_and_auto_pad(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["a"], name="conv1", strides=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["a", "w2"], ["b"], name="dw", group=16, dilations=[2, 2],
                         pads=[2, 2, 2, 2]),
        helper.make_node("Conv", ["b", "w3"], ["c"], name="same", auto_pad="SAME_UPPER",
                         strides=[2, 2]),
        helper.make_node("Conv", ["c", "w4"], ["y"], name="asym", pads=[0, 0, 1, 1]),
    ]
    inits = [weight("w1", 16, 3, 3, 3), weight("b1", 16), weight("w2", 16, 1, 3, 3),
             weight("w3", 8, 16, 3, 3), weight("w4", 8, 8, 2, 2)]
    a = run(save(tmp_path, nodes, {"x": [1, 3, 32, 32]}, "y", inits))
    conv1, dw, same, asym = (r.record.op for r in a.rows)
    assert isinstance(conv1, Conv) and conv1.bias and conv1.stride == (2, 2)
    assert isinstance(dw, Conv) and dw.groups == 16 and dw.dilation == (2, 2)
    # same-upper, stride 2 on 16: ceil(16/2) = 8 outputs, total pad (8-1)*2 + 3 - 16 = 1 after
    assert isinstance(same, Conv) and same.padding == ((0, 1), (0, 1))
    assert isinstance(asym, Conv) and asym.padding == ((0, 1), (0, 1))
    macs = [r.cost.macs for r in a.rows]
    assert macs == [16 * 16 * 16 * 3 * 9, 16 * 16 * 16 * 9, 8 * 8 * 8 * 16 * 9, 8 * 8 * 8 * 8 * 4]
    assert [r.cost.params for r in a.rows] == [16 * 27 + 16, 16 * 9, 8 * 16 * 9, 8 * 8 * 4]
    assert [r.name for r in a.rows] == ["conv1", "dw", "same", "asym"]


def test_conv_transpose(tmp_path: Path) -> None:
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2],
                              pads=[1, 1, 1, 1], output_padding=[1, 1])]
    a = run(save(tmp_path, nodes, {"x": [1, 8, 10, 10]}, "y", [weight("w", 8, 4, 3, 3)]))
    op = a.rows[0].record.op
    assert isinstance(op, Conv) and op.transposed and (op.in_channels, op.out_channels) == (8, 4)
    # every input element through C_out x kernel weights; out = 2*(10-1) - 2 + 3 + 1 = 20
    assert a.rows[0].cost.macs == 8 * 10 * 10 * 4 * 9
    assert a.rows[0].cost.output_shape == (1, 4, 20, 20)


def test_gemm_and_matmul_with_bias_fold(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
        helper.make_node("Unsqueeze", ["h", "ax"], ["h3"]),
        helper.make_node("MatMul", ["h3", "w2"], ["m"], name="fc2"),
        helper.make_node("Add", ["m", "b2"], ["y0"]),
        helper.make_node("MatMul", ["y0", "t"], ["y"], name="act_mm"),
    ]
    inits = [weight("w1", 32, 64), weight("b1", 32), ints("ax", [1]), weight("w2", 32, 16),
             weight("b2", 16)]
    path = save(tmp_path, nodes, {"x": [4, 64], "t": [4, 16, 5]}, "y", inits)
    a = run(path)
    fc1, fc2, mm = (r.record.op for r in a.rows)
    assert fc1 == Linear(64, 32, bias=True) and fc2 == Linear(32, 16, bias=True)
    assert isinstance(mm, Matmul)
    assert [r.cost.macs for r in a.rows] == [4 * 64 * 32, 4 * 32 * 16, 4 * 1 * 16 * 5]
    assert a.totals.params == 64 * 32 + 32 + 32 * 16 + 16
    assert a.extra["ignored_ops"] == {"Unsqueeze": 1, "Add (linear bias)": 1}


def test_norms(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["a"], name="bn"),
        helper.make_node("LayerNormalization", ["a", "ls", "lb"], ["c"], name="ln", axis=-1),
        helper.make_node("InstanceNormalization", ["c", "is", "ib"], ["y"], name="in"),
    ]
    inits = [weight("s", 8), weight("b", 8), weight("m", 8), weight("v", 8, value=1.0),
             weight("ls", 6), weight("lb", 6), weight("is", 8), weight("ib", 8)]
    a = run(save(tmp_path, nodes, {"x": [2, 8, 5, 6]}, "y", inits))
    bn, ln, inorm = (r.record.op for r in a.rows)
    assert bn == BatchNorm(8) and isinstance(ln, Norm) and ln.shape == (6,)
    assert isinstance(inorm, Norm) and inorm.shape == (8,)
    n = 2 * 8 * 5 * 6
    assert [r.cost.other_ops for r in a.rows] == [2 * n, 4 * n, 4 * n]
    assert a.totals.params == 2 * 8 + 2 * 6 + 2 * 8
    assert a.rows[0].cost.buffers == 2 * 8 + 1  # running mean and var, as torch counts them


def test_activations_and_patterns(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="relu"),
        helper.make_node("Clip", ["a", "lo", "hi"], ["b"], name="relu6"),
        helper.make_node("Sigmoid", ["b"], ["s"], name="silu_gate"),
        helper.make_node("Mul", ["b", "s"], ["c"], name="silu"),
        helper.make_node("HardSigmoid", ["c"], ["h"], alpha=1 / 6, beta=0.5),
        helper.make_node("Mul", ["c", "h"], ["d"], name="hswish"),
        helper.make_node("HardSwish", ["d"], ["e"], name="hs"),
        helper.make_node("Gelu", ["e"], ["f"], name="gelu"),
        helper.make_node("Clip", ["f", "lo", "lo"], ["g"], name="clamp"),
        helper.make_node("Softmax", ["g"], ["y"], name="softmax", axis=-1),
    ]
    inits = [weight("lo", value=0.0), weight("hi", value=6.0)]
    a = run(save(tmp_path, nodes, {"x": [1, 4, 3, 3]}, "y", inits, opset=20))
    fns = [r.record.op.function for r in a.rows]  # type: ignore[attr-defined]
    assert fns == [ActivationFn.RELU, ActivationFn.RELU6, ActivationFn.SILU,
                   ActivationFn.HARDSWISH, ActivationFn.HARDSWISH, ActivationFn.GELU, "clamp",
                   ActivationFn.SOFTMAX]
    assert [r.name for r in a.rows][2:4] == ["silu", "hswish"]
    assert all(r.cost.other_ops == 36 for r in a.rows)
    assert a.totals.params == 0  # the Clip bounds are values, not parameters


def test_pools(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("MaxPool", ["x"], ["a"], name="max", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["a"], ["b"], name="avg", kernel_shape=[2, 2],
                         strides=[2, 2], ceil_mode=1),
        helper.make_node("GlobalAveragePool", ["b"], ["c"], name="gap"),
        helper.make_node("ReduceMean", ["b", "axes"], ["d"], name="mean_hw", keepdims=1),
        helper.make_node("ReduceMean", ["b", "ax1"], ["e"], name="mean_c", keepdims=0),
        helper.make_node("Add", ["c", "d"], ["y"], name="join"),
    ]
    inits = [ints("axes", [2, 3]), ints("ax1", [1])]
    a = run(save(tmp_path, nodes, {"x": [1, 4, 15, 15]}, "y", inits, opset=18))
    ops = [r.record.op for r in a.rows]
    assert isinstance(ops[0], Pool) and isinstance(ops[1], Pool) and ops[1].ceil_mode
    assert isinstance(ops[2], AdaptivePool) and isinstance(ops[3], AdaptivePool)
    assert isinstance(ops[4], Reduce) and ops[4].dims == (1,) and isinstance(ops[5], Add)
    # max: (15 + 2 - 3)//2 + 1 = 8 -> 4*8*8 windows of 9; avg: ceil((8-2)/2) + 1 = 4
    assert a.rows[0].cost.other_ops == 4 * 8 * 8 * 9
    assert a.rows[1].cost.output_shape == (1, 4, 4, 4)
    assert a.rows[1].cost.other_ops == 4 * 4 * 4 * 4
    assert [r.cost.other_ops for r in a.rows[2:5]] == [64, 64, 64]


def test_add_mul_concat_and_free_ops(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Add", ["x", "x2"], ["a"], name="add"),
        helper.make_node("Mul", ["a", "half"], ["b"], name="scale"),
        helper.make_node("Concat", ["a", "b"], ["c"], name="cat", axis=1),
        helper.make_node("Concat", ["a", "b"], ["c2"], name="cat_w", axis=3),
        helper.make_node("Transpose", ["c2"], ["t"], perm=[0, 1, 3, 2]),
        helper.make_node("Flatten", ["c"], ["f"], axis=1),
        helper.make_node("Reshape", ["t", "shape"], ["r"]),
        helper.make_node("Add", ["f", "r"], ["y"], name="sum"),
    ]
    inits = [weight("half", value=0.5), ints("shape", [1, -1])]
    a = run(save(tmp_path, nodes, {"x": [1, 3, 4, 4], "x2": [1, 3, 4, 4]}, "y", inits))
    ops = [r.record.op for r in a.rows]
    assert ops == [Add(), Elementwise("mul"), Concat(), Add()]
    assert a.rows[1].record.inputs == ((1, 3, 4, 4),)  # the scalar is a number, not a tensor
    assert a.rows[2].cost.output_shape == (1, 6, 4, 4)
    assert a.extra["ignored_ops"] == {"Concat": 1, "Transpose": 1, "Flatten": 1, "Reshape": 1}
    assert not a.lower_bound


def test_embedding_and_free_parameter(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
        helper.make_node("Add", ["e", "pos"], ["y"], name="add_pos"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 7])],
        [helper.make_tensor_value_info("y", F, None)],
        initializer=[weight("table", 100, 16), weight("pos", 7, 16)])
    path = tmp_path / "e.onnx"
    onnx.save(make_model(graph, 17), str(path))
    a = run(str(path))
    assert a.rows[0].record.op == Embedding(100, 16)
    assert a.rows[-1].record.op == FreeParameter(7 * 16) and a.rows[-1].name == "pos"
    assert a.totals.params == 100 * 16 + 7 * 16


def test_tied_initializer_counted_once(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"], name="first"),
        helper.make_node("MatMul", ["a", "w"], ["y"], name="again"),
    ]
    a = run(save(tmp_path, nodes, {"x": [2, 8]}, "y", [weight("w", 8, 8)]))
    assert [r.record.tied for r in a.rows] == [False, True]
    assert a.totals.params == 64 and a.totals.macs == 2 * 2 * 8 * 8


def test_uncounted_op_makes_a_lower_bound(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="/block/act/Relu"),
             helper.make_node("TopK", ["a", "k"], ["y", "idx"], name="/block/TopK", axis=1)]
    a = run(save(tmp_path, nodes, {"x": [1, 10]}, "y", [ints("k", [3])]))
    assert a.lower_bound
    assert [(u.op, u.count, u.modules) for u in a.uncounted] == [("TopK", 1, ("block",))]
    assert a.rows[0].name == "block.act"


def test_names_from_torch_scopes() -> None:
    items = [("features.0.0", "features.0.0", "conv", "n0"),
             ("features.1", None, "add", "n1"),
             ("features.1.block.0.0", None, "relu", "n2"),
             ("layer1.0.relu", None, "relu", "n3"),
             ("layer1.0.relu_1", None, "relu", "n4"),
             (None, None, "relu", "plain")]
    assert [".".join(p) for p in assign_paths(items)] == [
        "features.0.0", "features.1.add", "features.1.block.0.0", "layer1.0.relu",
        "layer1.0.relu#2", "plain"]


def test_dynamic_inputs_are_fixed_by_name_or_position(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="c")]
    path = save(tmp_path, nodes, {"x": ["N", 3, "H", "W"]}, "y", [weight("w", 4, 3, 1, 1)])
    by_name = run(path, [NamedInput((2, 3, 8, 8), name="x")])
    by_position = run(path, parse_onnx_input("2,3,8,8"))
    assert by_name.totals.macs == by_position.totals.macs == 2 * 4 * 3 * 64
    assert by_name.input_shapes == ((2, 3, 8, 8),)
    with pytest.raises(InputError, match="'x' has unknown size"):
        run(path)
    with pytest.raises(InputError, match="no input named 'y'"):
        run(path, [NamedInput((1, 3, 8, 8), name="y")])
    with pytest.raises(InputError, match="is \\[N, 3, H, W\\] in the file"):
        run(path, [NamedInput((1, 4, 8, 8), name="x")])


# ---------------------------------------------------------------- bad input, CLI


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["analyze", *args, "--no-reference"])


def _one_line_error(result: Any, code: int, needle: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error: "), result.stderr
    assert needle in lines[0]


def test_bad_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.onnx"
    text.write_text("definitely not a protobuf\n")
    _one_line_error(cli(str(text)), 2, "not an ONNX model")
    good = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], {"x": [1, 4]}, "y",
                [weight("unused", 64, 64)])
    data = Path(good).read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 2])
    _one_line_error(cli(str(cut)), 2, "truncated")
    _one_line_error(cli(str(tmp_path / "missing.onnx")), 2, "no such file")


def test_unsupported_opset(tmp_path: Path) -> None:
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], {"x": [1, 4]}, "y",
                opset=onnx.defs.onnx_opset_version() + 5)
    _one_line_error(cli(path), 3, "unsupported opset")


def test_missing_external_data(tmp_path: Path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    path = save(tmp_path, nodes, {"x": [1, 256]}, "y", [weight("w", 256, 256)])
    model = onnx.load(path)
    onnx.save(model, path, save_as_external_data=True, location="weights.bin")
    assert run(path).totals.params == 256 * 256  # shapes only: the data stays on disk
    (tmp_path / "weights.bin").unlink()
    _one_line_error(cli(path), 2, "external data file 'weights.bin' is missing")


def test_unknown_input_name_and_unknown_dims_on_the_cli(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    path = save(tmp_path, nodes, {"x": ["batch", 4]}, "y")
    _one_line_error(cli(path), 2, "input 'x' has unknown size(s) [batch, 4]")
    _one_line_error(cli(path, "--input", "z=1,4"), 2, "no input named 'z'")
    ok = cli(path, "--input", "x=3,4", "--format", "json")
    assert ok.exit_code == 0, ok.output


def test_an_input_type_given_must_be_the_files(tmp_path: Path) -> None:
    """An ONNX graph's input types are fixed: a type given with --input that differs from the
    file's is refused (it was ignored before), the file's own type is accepted, by name or by
    position."""
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    path = save(tmp_path, nodes, {"x": ["batch", 4]}, "y")
    for given in ("x=3,4:int64", "3,4:float16"):
        wanted = given.rpartition(":")[2]
        _one_line_error(cli(path, "--input", given), 2,
                        f"input 'x' is float32 in the file, got {wanted}")
    for given in ("x=3,4:float32", "3,4:float32", "3,4"):
        ok = cli(path, "--input", given, "--format", "json")
        assert ok.exit_code == 0, (given, ok.output)


def test_cli_variants_and_no_torch(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="/stem/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["a", "w2"], ["b"], name="/dw/Conv", group=32,
                         pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["b", "w3"], ["y"], name="/pw/Conv"),
    ]
    inits = [weight("stem.weight", 32, 3, 3, 3), weight("dw.weight", 32, 1, 3, 3),
             weight("pw.weight", 64, 32, 1, 1)]
    nodes[0].input[1], nodes[1].input[1], nodes[2].input[1] = (
        "stem.weight", "dw.weight", "pw.weight")
    path = save(tmp_path, nodes, {"x": [1, 3, 16, 16]}, "y", inits)
    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from convcost.cli.app import app\n"
        f"r = CliRunner().invoke(app, ['analyze', {path!r}, '--no-reference', '-f', 'json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "doc = json.loads(r.stdout)\n"
        "print(json.dumps(doc['variants']))\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'fvcore'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    import json

    variants_text, heavy = out.stdout.strip().split("\n") + [""] * (2 - len(
        out.stdout.strip().split("\n")))
    assert heavy == ""
    variants = json.loads(variants_text)
    hw = 16 * 16
    written = hw * 32 * 27 + hw * 32 * 9 + hw * 64 * 32
    assert variants["as_written"]["macs"] == written
    # standard: the stem stays, dw + pw becomes one 3x3 conv 32 -> 64
    assert variants["standard"]["macs"] == hw * 32 * 27 + hw * 64 * 32 * 9
    # separable: the stem becomes dw 3x3 on 3 channels + pw 3 -> 32
    assert variants["separable"]["macs"] == hw * 3 * 9 + hw * 3 * 32 + hw * 32 * 9 + hw * 64 * 32


def test_gelu_written_with_erf_is_one_gelu(tmp_path: Path) -> None:
    """torch's exporter below opset 20: x * (1 + erf(x / √2)) * 0.5."""
    nodes = [
        helper.make_node("Div", ["x", "sqrt2"], ["d"], name="/act/Div"),
        helper.make_node("Erf", ["d"], ["e"], name="/act/Erf"),
        helper.make_node("Add", ["e", "one"], ["a"], name="/act/Add"),
        helper.make_node("Mul", ["x", "a"], ["m"], name="/act/Mul"),
        helper.make_node("Mul", ["m", "half"], ["y"], name="/act/Mul_1"),
    ]
    inits = [weight("sqrt2", value=2 ** 0.5), weight("one", value=1.0),
             weight("half", value=0.5)]
    a = run(save(tmp_path, nodes, {"x": [2, 5]}, "y", inits))
    assert [(r.name, r.record.op) for r in a.rows] == [("act", Activation(ActivationFn.GELU))]
    assert a.rows[0].cost.other_ops == 10


def test_strict_and_reference_flags(tmp_path: Path) -> None:
    nodes = [helper.make_node("TopK", ["x", "k"], ["y", "i"], axis=1)]
    path = save(tmp_path, nodes, {"x": [1, 10]}, "y", [ints("k", [3])])
    _one_line_error(cli(path, "--strict"), 3, "TopK ×1")
    yaml_with_onnx_tool = CliRunner().invoke(
        app, ["analyze", "configs/mobilenet_v1.yaml", "--reference", "onnx-tool"])
    _one_line_error(yaml_with_onnx_tool, 2, "onnx-tool counts ONNX files only")


def test_resize_is_an_upsampling(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Resize", ["x", "", "scales"], ["a"], name="near", mode="nearest"),
        helper.make_node("Resize", ["a", "", "", "sizes"], ["y"], name="bilin", mode="linear",
                         coordinate_transformation_mode="align_corners"),
    ]
    inits = [weight("scales", 4, value=1.0), ints("sizes", [1, 3, 20, 24])]
    inits[0] = numpy_helper.from_array(np.asarray([1, 1, 2, 2], np.float32), "scales")
    a = run(save(tmp_path, nodes, {"x": [1, 3, 5, 6]}, "y", inits, opset=13))
    near, bilin = (r.record.op for r in a.rows)
    assert isinstance(near, Upsample) and near.mode == "nearest"
    assert isinstance(bilin, Upsample) and bilin.mode == "bilinear" and bilin.align_corners
    # nearest reads one sample per output element, bilinear four
    assert [r.cost.other_ops for r in a.rows] == [3 * 10 * 12, 4 * 3 * 20 * 24]
    assert a.rows[1].cost.output_shape == (1, 3, 20, 24)
    assert a.totals.params == 0  # the scales are values, not parameters


def test_gru_bidirectional_and_relu_rnn(tmp_path: Path) -> None:
    hidden, features, steps, batch = 8, 5, 7, 2
    nodes = [
        helper.make_node("GRU", ["x", "W", "R", "B"], ["y", "h"], name="/enc/GRU",
                         hidden_size=hidden, direction="bidirectional"),
        helper.make_node("RNN", ["x", "Wr", "Rr"], ["y2", "h2"], name="/dec/RNN",
                         hidden_size=hidden, activations=["Relu"]),
    ]
    inits = [weight("W", 2, 3 * hidden, features), weight("R", 2, 3 * hidden, hidden),
             weight("B", 2, 6 * hidden), weight("Wr", 1, hidden, features),
             weight("Rr", 1, hidden, hidden)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", F, [steps, batch, features])],
        [helper.make_tensor_value_info("y", F, None), helper.make_tensor_value_info("y2", F, None)],
        initializer=inits)
    path = tmp_path / "rnn.onnx"
    onnx.save(make_model(graph, 17), str(path))
    a = run(str(path))
    assert [(r.name, r.record.op.cell) for r in a.rows] == [  # type: ignore[attr-defined]
        ("enc.l0", "gru"), ("enc.l0_reverse", "gru"), ("dec", "rnn_relu")]
    gru_weights = 3 * hidden * (features + hidden)
    assert [r.cost.macs for r in a.rows] == [steps * batch * gru_weights] * 2 + [
        steps * batch * hidden * (features + hidden)]
    assert a.totals.params == 2 * (gru_weights + 2 * 3 * hidden) + hidden * (features + hidden)


def _runtime_shapes(path: str, feeds: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """Every node output's shape as onnxruntime computes it (the graph run for real)."""
    ort = pytest.importorskip("onnxruntime")
    model = onnx.load(path)
    known = {o.name for o in model.graph.output}
    for node in model.graph.node:
        for out in node.output:
            if out and out not in known:
                model.graph.output.append(helper.make_empty_tensor_value_info(out))
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {k: np.zeros(v, np.float32) for k, v in feeds.items()})
    return {n: tuple(v.shape) for n, v in zip(names, values, strict=True)}


@pytest.mark.parametrize("build", [test_conv_groups_dilation_pads_and_auto_pad, test_pools,
                                   test_resize_is_an_upsampling, test_conv_transpose])
def test_output_shapes_match_onnxruntime(tmp_path: Path, build: Any) -> None:
    build(tmp_path)  # writes the graph (and checks its arithmetic)
    path = str(next(tmp_path.glob("*.onnx")))
    model = onnx.load(path)
    feeds = {i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim)
             for i in model.graph.input}
    real = _runtime_shapes(path, feeds)
    a = run(path)
    by_node = {n.name or n.output[0]: n.output[0] for n in model.graph.node}
    checked = 0
    for row in a.rows:
        out = by_node.get(row.name)
        if out is not None:
            assert row.cost.output_shape == real[out], row.name
            checked += 1
    assert checked == len(a.rows)


def test_weight_transposed_in_the_graph_and_tied_to_an_embedding(tmp_path: Path) -> None:
    """A language model's output layer reusing the embedding table: MatMul(x, Transpose(E))."""
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
        helper.make_node("Transpose", ["table"], ["t"], perm=[1, 0]),
        helper.make_node("MatMul", ["e", "t"], ["y"], name="head"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 6])],
        [helper.make_tensor_value_info("y", F, None)], initializer=[weight("table", 50, 8)])
    path = tmp_path / "lm.onnx"
    onnx.save(make_model(graph, 17), str(path))
    a = run(str(path))
    assert [(r.name, r.record.op, r.record.tied) for r in a.rows] == [
        ("embed", Embedding(50, 8), False), ("head", Linear(8, 50, bias=False), True)]
    assert a.totals.params == 50 * 8 and a.totals.macs == 6 * 8 * 50


def test_without_the_onnx_package_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], {"x": [1, 4]}, "y")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(AnalysisError, match=r"pip install 'convcost\[onnx\]'"):
        run(path)


def test_data_flow_is_the_graph_s(tmp_path: Path) -> None:
    """Every record says which record produced each input, through the nodes that left none
    (a Flatten here); -1 for a model input or a constant."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="c1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["r"], name="act"),
        helper.make_node("Conv", ["r", "w2"], ["b"], name="c2", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["b", "a"], ["s"], name="join"),
        helper.make_node("Flatten", ["s"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("w1", 4, 3, 3, 3), weight("w2", 4, 4, 3, 3), weight("w3", 10, 4 * 16),
             weight("b3", 10), weight("unused_emb", 5, 4)]
    records = analyze_onnx_file(save(tmp_path, nodes, {"x": [1, 3, 4, 4]}, "y", inits))[2].records
    assert [(r.name, r.sources) for r in records] == [
        ("c1", (-1,)), ("act", (0,)), ("c2", (1,)), ("join", (2, 0)), ("fc", (3,))]
