"""Handlers of the ops that carry MACs: convolution, linear and every matrix product, and
embedding lookups."""

from __future__ import annotations

import math
from typing import Any

from convcost.core.ops import Conv, Embedding, Linear, Matmul, Shape
from convcost.frontends.torch.args import ints, label, tensor_shape
from convcost.frontends.torch.registry import handles
from convcost.frontends.torch.state import WalkState
from convcost.frontends.torch.tables import CONVS


@handles(*CONVS)
def _conv(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    x, weight = a["input"], a["weight"]
    dims = weight.dim() - 2
    groups = int(a["groups"])
    transposed = bool(a["transposed"])
    if transposed:
        cin, cout = int(weight.shape[0]), int(weight.shape[1]) * groups
    else:
        cin, cout = int(weight.shape[1]) * groups, int(weight.shape[0])
    pads = ints(a["padding"], dims)
    op = Conv(
        in_channels=cin,
        out_channels=cout,
        kernel=tensor_shape(weight)[2:],
        stride=ints(a["stride"], dims),
        padding=tuple((p, p) for p in pads),
        dilation=ints(a["dilation"], dims),
        groups=groups,
        bias=a["bias"] is not None,
        transposed=transposed,
        output_padding=ints(a["output_padding"], dims) if transposed else (),
    )
    xs = tensor_shape(x)
    w.emit(op, [xs if len(xs) == dims + 2 else (1, *xs)], "conv", weight, [a["bias"]])


def _linear_input(w: WalkState, x: Any) -> Shape:
    shape = tensor_shape(x)
    before = w.origin.get(x)
    if before and before[-1] == shape[-1] and math.prod(before[:-1]) == math.prod(shape[:-1]):
        return tuple(before)
    return shape if len(shape) >= 2 else (1, *shape)


@handles("aten.addmm", "aten.mm")
def _mm(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    if name == "aten.mm":
        x, m, addend = a["self"], a["mat2"], None
    else:
        x, m, addend = a["mat1"], a["mat2"], a["self"]
    is_bias = addend is not None and (addend.dim() == 1 or int(addend.shape[0]) == 1)
    if w.param_of(m) is not None and (addend is None or is_bias):
        op = Linear(int(m.shape[0]), int(m.shape[1]), bias=addend is not None)
        w.emit(op, [_linear_input(w, x)], "linear", m, [addend])
        if addend is None and w.last is not None and isinstance(out, w.torch.Tensor):
            w.linear_out[out] = w.last
        return
    shapes = [tensor_shape(t) for t in (x, m, addend) if t is not None]
    w.emit(Matmul(), shapes, label(name))


@handles("aten.linear")
def _linear(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    weight, bias = a["weight"], a["bias"]
    op = Linear(int(weight.shape[1]), int(weight.shape[0]), bias=bias is not None)
    w.emit(op, [_linear_input(w, a["input"])], "linear", weight, [bias])


@handles("aten.bmm", "aten.baddbmm", "aten.addbmm")
def _bmm(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    if name == "aten.bmm":
        shapes = [tensor_shape(a["self"]), tensor_shape(a["mat2"])]
    else:
        shapes = [tensor_shape(a["batch1"]), tensor_shape(a["batch2"]), tensor_shape(a["self"])]
    w.emit(Matmul(), shapes, label(name))


@handles("aten._grouped_mm")
def _grouped_mm(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """Mixture-of-experts matmuls in one call: every row of ``self`` meets one group's matrix,
    so the MACs are those of one (rows × K) by (K × N) product however the rows are split."""
    x, m = a["self"], a["mat2"]
    if x.dim() == 3:  # (G, M, K) by (G, K, N) or by (K, N_total): each group its own rows
        rows, k = int(x.shape[0]) * int(x.shape[1]), int(x.shape[2])
        n = int(m.shape[-1]) if m.dim() == 3 else int(m.shape[1]) // int(x.shape[0])
    elif m.dim() == 3:  # (M_total, K) by (G, K, N): rows split among the groups
        rows, k, n = int(x.shape[0]), int(x.shape[1]), int(m.shape[2])
    else:  # (M, K_total) by (K_total, N): the contraction split among the groups
        rows, k, n = int(x.shape[0]), int(x.shape[1]), int(m.shape[1])
    shapes: list[tuple[int, ...]] = [(rows, k), (k, n)]
    if a.get("bias") is not None:
        shapes.append((n,))
    w.emit(Matmul(), shapes, label(name))


@handles("aten.mv", "aten.addmv")
def _mv(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    mat, vec = (a["self"], a["vec"]) if name == "aten.mv" else (a["mat"], a["vec"])
    shapes = [tensor_shape(mat), (int(vec.shape[0]), 1)]
    if name == "aten.addmv":
        shapes.append((int(mat.shape[0]), 1))
    w.emit(Matmul(), shapes, label(name))


@handles("aten.dot", "aten.vdot")
def _dot(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    n = int(a["self"].shape[0])
    w.emit(Matmul(), [(1, n), (n, 1)], label(name))


@handles("aten.embedding")
def _embedding(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    weight = a["weight"]
    op = Embedding(int(weight.shape[0]), int(weight.shape[1]))
    w.emit(op, [tensor_shape(a["indices"])], "embedding", weight)


@handles("aten.addr")
def _addr(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """An outer product added to a matrix: a (n, 1) x (1, m) product plus the addend."""
    n, m = int(a["vec1"].shape[0]), int(a["vec2"].shape[0])
    w.emit(Matmul(), [(n, 1), (1, m), (n, m)], "addr")
