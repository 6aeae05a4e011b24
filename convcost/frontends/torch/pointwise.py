"""Handlers of the ops that carry only "other ops": normalisation, activations, pooling,
element-wise functions, reductions and channel concatenation."""

from __future__ import annotations

from typing import Any

from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Elementwise,
    Linear,
    Norm,
    NormFn,
    Pool,
    PoolMode,
    Reduce,
    Shape,
)
from convcost.frontends.torch.args import ints, tensor_shape
from convcost.frontends.torch.registry import Unsupported, handles
from convcost.frontends.torch.state import WalkState
from convcost.frontends.torch.tables import (
    ACTIVATIONS,
    ADAPTIVE,
    AVG_POOLS,
    BATCH_NORMS,
    ELEMENTWISE,
    MAX_POOLS,
    REDUCTIONS,
)


@handles(*BATCH_NORMS)
def _batch_norm(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    x, weight = a["input"], a["weight"]
    op = BatchNorm(int(x.shape[1]), affine=weight is not None,
                   track_running_stats=a["running_mean"] is not None)
    w.emit(op, [tensor_shape(x)], "batch_norm", weight, [a["bias"]])


@handles("aten.native_layer_norm", "aten._fused_rms_norm")
def _layer_norm(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    fn = NormFn.RMS if "rms" in name else NormFn.LAYER
    weight, bias = a["weight"], a.get("bias")
    op = Norm(fn, tuple(int(s) for s in a["normalized_shape"]), weight is not None,
              bias is not None)
    w.emit(op, [tensor_shape(a["input"])], str(fn), weight, [bias])


@handles("aten.native_group_norm")
def _group_norm(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    weight, bias = a["weight"], a["bias"]
    op = Norm(NormFn.GROUP, (int(a["C"]),), weight is not None, bias is not None,
              groups=int(a["group"]))
    w.emit(op, [tensor_shape(a["input"])], "group_norm", weight, [bias])


@handles(*ACTIVATIONS)
def _activation(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    fn = ACTIVATIONS[name]
    w.emit(Activation(fn), [tensor_shape(a["self"])], str(fn))


@handles("aten.hardtanh")
def _hardtanh(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    if float(a["min_val"]) == 0.0 and float(a["max_val"]) == 6.0:
        w.emit(Activation(ActivationFn.RELU6), [tensor_shape(a["self"])], "relu6")
    else:
        w.emit(Elementwise("hardtanh"), [tensor_shape(a["self"])], "hardtanh")


def _pool_input(x: Any, dims: int) -> Shape:
    s = tensor_shape(x)
    return s if len(s) == dims + 2 else (1, *s)


@handles(*MAX_POOLS, *AVG_POOLS)
def _pool(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    dims = 2 if name == "aten.mkldnn_max_pool2d" else int(name.split("pool")[1][0])
    x = a["self"]
    kernel = ints(a["kernel_size"], dims)
    stride = ints(a["stride"], dims) if a["stride"] else kernel
    mode = PoolMode.MAX if "max" in name else PoolMode.AVG
    dilation = ints(a["dilation"], dims) if "dilation" in a else (1,) * dims
    op = Pool(mode, kernel, stride, ints(a["padding"], dims), dilation,
              ceil_mode=bool(a["ceil_mode"]))
    w.emit(op, [_pool_input(x, dims)], f"{mode}_pool")


@handles(*ADAPTIVE)
def _adaptive(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    size = tuple(int(s) for s in a["output_size"])
    mode = ADAPTIVE[name]
    w.emit(AdaptivePool(mode, size), [_pool_input(a["self"], len(size))],
           f"adaptive_{mode}_pool")


def tensor_shapes(w: WalkState, a: dict[str, Any]) -> list[Shape]:
    return [tensor_shape(v) for v in a.values() if isinstance(v, w.torch.Tensor)]


@handles(*(f"aten.{n}" for n in ELEMENTWISE if n != "hardtanh"))
def _elementwise(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    base = name.removeprefix("aten.")
    shapes = tensor_shapes(w, a)
    if not shapes:
        raise Unsupported
    if base == "add" and _fold_bias(w, a):
        return
    if base == "add" and len(shapes) == 2 and shapes[0] == shapes[1] and a.get("alpha", 1) == 1:
        w.emit(Add(), shapes, "add")
        return
    w.emit(Elementwise(base, ELEMENTWISE[base]), shapes, base)


def _fold_bias(w: WalkState, a: dict[str, Any]) -> bool:
    """``mm`` then ``add(bias)`` (torch's linear on a non-contiguous 3-D input) is one biased
    Linear: give the bias to the Linear record just made, not to an element-wise add."""
    x, bias = a.get("self"), a.get("other")
    if not isinstance(x, w.torch.Tensor) or not isinstance(bias, w.torch.Tensor):
        return False
    pending = w.linear_out.get(x)
    if pending is None or w.param_of(bias) is None or bias.dim() != 1:
        return False
    op = pending.op
    if not isinstance(op, Linear) or op.bias or op.out_features != int(bias.shape[0]):
        return False
    pending.op = Linear(op.in_features, op.out_features, bias=True)
    w.used_params.add(id(w.param_of(bias)))
    w.ignore("aten.add (linear bias)")
    return True


@handles(*(f"aten.{n}" for n in REDUCTIONS))
def _reduction(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    base = name.removeprefix("aten.")
    x = a["self"]
    dim = a.get("dim")
    dims: tuple[int, ...] = () if dim is None else ints(dim, 1) if isinstance(dim, int) else \
        tuple(int(d) for d in dim)
    keep = bool(a.get("keepdim") or False)
    w.emit(Reduce(base, dims, keep), [tensor_shape(x)], base)


@handles("aten.cat", "aten.concat", "aten.concatenate")
def _cat(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    tensors = [t for t in a["tensors"] if t.numel() > 0]
    shapes = [tensor_shape(t) for t in tensors]
    first = shapes[0] if shapes else ()
    ok = len(shapes) >= 2 and len(first) >= 2 and all(
        len(s) == len(first) and s[0] == first[0] and s[2:] == first[2:] for s in shapes
    )
    if ok and int(a["dim"]) % len(first) == 1:
        w.emit(Concat(), shapes, "cat")
    else:
        w.ignore(name)  # a copy along another dimension: no arithmetic


@handles("aten.cumsum", "aten.cumprod", "aten.logcumsumexp", "aten.cummax", "aten.cummin")
def _scan(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """A running sum, product, max or min along one dimension: one op per element."""
    base = name.removeprefix("aten.")
    w.emit(Elementwise(base), [tensor_shape(a["self"])], base)


@handles("aten.nonzero", "aten.argwhere", "aten.nonzero_static", "aten.topk",
         "aten.kthvalue", "aten.median", "aten.nanmedian", "aten.mode", "aten._unique",
         "aten._unique2", "aten.unique_dim", "aten.unique_consecutive", "aten.histc",
         "aten.bincount")
def _select(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """Finding positions, order statistics or counts (nonzero, top-k, median, unique, a
    histogram): one op per element read, like a reduction."""
    base = name.removeprefix("aten.")
    x = a["self"]
    dim = a.get("dim")
    dims = () if not isinstance(dim, int) or base in ("nonzero", "argwhere", "nonzero_static") \
        else (int(dim),)
    w.emit(Reduce(base, dims, keepdim=bool(dims)), [tensor_shape(x)], base)


@handles("aten.sort", "aten.argsort", "aten.msort")
def _sort(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """A sort along one dimension: ceil(log2(n)) comparisons per element."""
    import math

    base = name.removeprefix("aten.")
    x = a["self"]
    shape = tensor_shape(x)
    dim = int(a.get("dim", -1) if a.get("dim") is not None else -1)
    n = shape[dim] if shape else 1
    w.emit(Elementwise(base, max(1, math.ceil(math.log2(max(n, 2))))), [shape], base)
