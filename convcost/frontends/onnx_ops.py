"""ONNX layers with weights or windows -> core ops: Conv, ConvTranspose, Gemm, MatMul, the
normalisations, pooling, Concat and Gather (an embedding). The op modules of convcost.ops
register theirs (Resize, the recurrent layers, GridSample, Einsum) beside these."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from convcost.core.ops import (
    AdaptivePool,
    BatchNorm,
    Concat,
    Conv,
    Embedding,
    Linear,
    Matmul,
    Norm,
    NormFn,
    Pool,
    PoolMode,
    Shape,
)
from convcost.frontends.onnx_tables import FLOAT_TYPES, Unsupported, attrs, decode, handles

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker


def _pads(a: dict[str, Any], spatial: Shape, kernel: Shape, stride: Shape,
          dilation: Shape) -> tuple[tuple[int, int], ...]:
    dims = len(kernel)
    auto = decode(a.get("auto_pad", "NOTSET"))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for n, k, s, d in zip(spatial, kernel, stride, dilation, strict=True):
            total = max(0, (-(-n // s) - 1) * s + (k - 1) * d + 1 - n)
            small, big = total // 2, total - total // 2
            out.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return tuple(out)
    if auto == "VALID":
        return tuple((0, 0) for _ in range(dims))
    pads = list(a.get("pads", [0] * (2 * dims)))
    return tuple((int(pads[i]), int(pads[i + dims])) for i in range(dims))


@handles("Conv", "ConvTranspose")
def _conv(w: Walker, node: Any) -> None:
    x, weight, bias = node.input[0], w.inp(node, 1), w.inp(node, 2)
    if weight is None:
        raise Unsupported
    xs, ws = w.shape(x, node), w.shape(weight, node)
    dims = len(ws) - 2
    if len(xs) != dims + 2:
        raise Unsupported
    a = attrs(node)
    kernel = ws[2:]
    stride = tuple(a.get("strides", [1] * dims))
    dilation = tuple(a.get("dilations", [1] * dims))
    groups = int(a.get("group", 1))
    transposed = node.op_type == "ConvTranspose"
    if transposed:
        cin, cout = ws[0], ws[1] * groups
        out_pad = tuple(a.get("output_padding", [0] * dims))
        auto = decode(a.get("auto_pad", "NOTSET"))
        if "output_shape" in a or auto != "NOTSET":
            # padding from the inferred output: out = s(n-1) + op + d(k-1) + 1 - pads
            ys = w.shape(node.output[0], node)[2:]
            pads = []
            for n, y, k, s, d, o in zip(xs[2:], ys, kernel, stride, dilation, out_pad,
                                        strict=True):
                total = s * (n - 1) + o + d * (k - 1) + 1 - y
                if total < 0 or total % 2:
                    raise Unsupported
                pads.append((total // 2, total // 2))
            padding = tuple(pads)
        else:
            padding = _pads(a, xs[2:], kernel, stride, dilation)
    else:
        cin, cout, out_pad = xs[1], ws[0], ()
        padding = _pads(a, xs[2:], kernel, stride, dilation)
    if bias is not None and not w.param(bias):
        bias = None  # computed (torch.export writes zeros for a conv without bias)
    op = Conv(cin, cout, kernel, stride, padding, dilation, groups, bias is not None,
              transposed, out_pad)
    w.emit(node, op, [xs], "conv", weight if w.param(weight) else None, (bias,))


def _linear_from(w: Walker, node: Any, x: Shape, k: int, n: int, weight: str,
                 bias: str | None) -> None:
    op = Linear(k, n, bias=bias is not None)
    w.emit(node, op, [x if len(x) >= 2 else (1, *x)], "linear", weight, (bias,))


@handles("Gemm")
def _gemm(w: Walker, node: Any) -> None:
    a = attrs(node)
    x, b, c = node.input[0], node.input[1], w.inp(node, 2)
    xs, bs = w.shape(x, node), w.shape(b, node)
    if a.get("transA", 0):
        xs = (xs[1], xs[0])
    k, n = (bs[1], bs[0]) if a.get("transB", 0) else bs
    if w.param(b):
        _linear_from(w, node, xs, k, n, b, c)
    else:
        mats = [xs, (k, n)] + ([w.shape(c, node)] if c else [])
        w.emit(node, Matmul(), mats, "addmm" if c else "mm")


@handles("MatMul")
def _matmul(w: Walker, node: Any) -> None:
    x, b = node.input
    xs, bs = w.shape(x, node), w.shape(b, node)
    if w.param(b) and len(bs) == 2 and len(xs) >= 1:
        bias = None
        folded: Any = None
        user = w.single_use(node.output[0])
        if user is not None and user.op_type == "Add":
            other = [i for i in user.input if w.resolve(i) != w.resolve(node.output[0])]
            if len(other) == 1 and w.param(other[0]) and \
                    w.shape(other[0], user)[-1:] == (bs[1],) and \
                    math.prod(w.shape(other[0], user)) == bs[1]:
                bias = other[0]
                w.done.add(id(user))
                folded = user
                w.ignored["Add (linear bias)"] = w.ignored.get("Add (linear bias)", 0) + 1
        _linear_from(w, node, xs, bs[0], bs[1], b, bias)
        if folded is not None:
            w.pending[-1].outputs = (folded.output[0],)
        return
    if len(xs) < 2 or len(bs) < 2:
        raise Unsupported
    w.emit(node, Matmul(), [xs, bs], "matmul")


@handles("BatchNormalization")
def _batch_norm(w: Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    scale, bias = node.input[1], node.input[2]
    stats = tuple(node.input[3:5])
    op = BatchNorm(xs[1], affine=True, track_running_stats=True)
    w.emit(node, op, [xs], "batch_norm", scale, (bias, *stats))


@handles("LayerNormalization")
def _layer_norm(w: Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    axis = int(attrs(node).get("axis", -1)) % len(xs)
    bias = w.inp(node, 2)
    op = Norm(NormFn.LAYER, xs[axis:], weight=True, bias=bias is not None)
    w.emit(node, op, [xs], "layer_norm", node.input[1], (bias,))


@handles("InstanceNormalization", "GroupNormalization")
def _channel_norm(w: Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    if node.op_type == "GroupNormalization":
        op = Norm(NormFn.GROUP, (xs[1],), groups=int(attrs(node)["num_groups"]))
        label = "group_norm"
    else:
        op, label = Norm(NormFn.INSTANCE, (xs[1],)), "instance_norm"
    w.emit(node, op, [xs], label, node.input[1], (w.inp(node, 2),))


@handles("MaxPool", "AveragePool", "LpPool")
def _pool(w: Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    a = attrs(node)
    kernel = tuple(int(k) for k in a["kernel_shape"])
    dims = len(kernel)
    stride = tuple(int(s) for s in a.get("strides", [1] * dims))
    dilation = tuple(int(d) for d in a.get("dilations", [1] * dims))
    pads = _pads(a, xs[2:], kernel, stride, dilation)
    if any(lo != hi for lo, hi in pads):
        raise Unsupported
    mode = PoolMode.MAX if node.op_type == "MaxPool" else PoolMode.AVG
    op = Pool(mode, kernel, stride, tuple(lo for lo, _ in pads), dilation,
              ceil_mode=bool(a.get("ceil_mode", 0)))
    w.emit(node, op, [xs], f"{mode}_pool")


@handles("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def _global_pool(w: Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    mode = PoolMode.MAX if node.op_type == "GlobalMaxPool" else PoolMode.AVG
    w.emit(node, AdaptivePool(mode, (1,) * (len(xs) - 2)), [xs], f"adaptive_{mode}_pool")


@handles("Concat")
def _concat(w: Walker, node: Any) -> None:
    shapes = [w.shape(i, node) for i in node.input if i]
    shapes = [s for s in shapes if math.prod(s) > 0]
    axis = int(attrs(node).get("axis", 1))
    first = shapes[0] if shapes else ()
    ok = len(shapes) >= 2 and len(first) >= 2 and axis % len(first) == 1 and all(
        len(s) == len(first) and s[0] == first[0] and s[2:] == first[2:] for s in shapes)
    if ok:
        w.emit(node, Concat(), shapes, "cat")
    else:
        w.ignored["Concat"] = w.ignored.get("Concat", 0) + 1


@handles("Gather")
def _gather(w: Walker, node: Any) -> None:
    data, ids = node.input[0], node.input[1]
    ds = w.shape(data, node)
    t = w.tensors.get(w.resolve(data))
    if t is not None and len(ds) == 2 and t.data_type in FLOAT_TYPES and \
            int(attrs(node).get("axis", 0)) == 0 and not w.param(ids):
        w.emit(node, Embedding(ds[0], ds[1]), [w.shape(ids, node)], "embedding", data)
    else:
        w.ignored["Gather"] = w.ignored.get("Gather", 0) + 1
