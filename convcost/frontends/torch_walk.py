"""Walk a torch model's forward at the level of aten ops and turn it into layer records.

How it runs
-----------
* **Device.** If every parameter and buffer is on the ``meta`` device (or there are none), the
  forward runs on meta inputs: no memory, no arithmetic. Otherwise (real weights, e.g. a cpu
  model or a TorchScript archive) it runs under ``FakeTensorMode``: inputs are fake tensors on the
  model's device, real parameters are read as fakes on the fly, so still no arithmetic and no
  activation memory, and nothing is copied or moved. Ops that need real values (``.item()``,
  data-dependent shapes) cannot run either way and give an :class:`AnalysisError`.
* **Mode.** Counts are inference counts: every module is put in eval mode for the walk and each
  module's own ``training`` flag is restored afterwards (a training-mode batch-norm would update
  its running statistics). The forward runs under ``torch.no_grad()`` unless ``grad=True``.
  torch's fused attention fast paths (``_native_multi_head_attention``,
  ``_transformer_encoder_layer_fwd``) are taken only in eval + no_grad on cpu/cuda tensors; they
  are costed to the same MACs and parameters as the unfused path.
* **Attribution.** Global forward pre/post hooks (removed afterwards) keep a stack of the modules
  running, by their fully qualified names. A ``TorchDispatchMode`` sees every aten op; each op
  becomes a record of a core op (the same classes and formulas as the YAML front-end), is
  ignored (:data:`IGNORED`: it costs no arithmetic) or is listed as uncounted.
* **Paths.** A leaf module that issues one costed op gives a record named by its fqn (a conv at
  ``features.0.0`` -> ``("features", "0", "0")``). An op that uses a parameter owned by another
  module is named after that parameter's owner (``attn.out_proj``; a parameter not called
  ``weight`` adds its name: ``attn.in_proj``). Other ops get ``(fqn..., opname)``, numbered
  ``opname_2``... within one call; a path met again (a module called twice) gets ``#2``...
* **Parameters once.** A record whose weight tensor (a parameter or a slice of one) was counted
  on an earlier record is marked ``tied`` (the core then counts no parameters for it).
  ``params_unique`` and ``buffers`` are read from the model itself (unique tensors).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    Attention,
    BatchNorm,
    Concat,
    Conv,
    Elementwise,
    Embedding,
    FreeParameter,
    Linear,
    Matmul,
    Norm,
    NormFn,
    Op,
    Pool,
    PoolMode,
    Reduce,
    Shape,
)
from convcost.core.records import LayerRecord, Uncounted
from convcost.errors import AnalysisError, ConvcostError, InputError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from convcost.frontends.torch_source import InputSpec

# ---------------------------------------------------------------- the op tables

IGNORED: frozenset[str] = frozenset(
    {
        # views and shape changes: no data is touched
        "aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias", "aten.expand",
        "aten.expand_as", "aten.permute", "aten.transpose", "aten.t", "aten.numpy_T",
        "aten.unsqueeze", "aten.squeeze", "aten.flatten", "aten.unflatten", "aten.view_as",
        "aten.as_strided", "aten.alias", "aten.slice", "aten.select", "aten.split",
        "aten.split_with_sizes", "aten.unbind", "aten.chunk", "aten.narrow", "aten.detach",
        "aten.lift_fresh", "aten.unfold", "aten.diagonal", "aten.real", "aten.view_as_real",
        "aten.view_as_complex", "aten.movedim",
        # copies and casts: memory traffic, no arithmetic
        "aten.clone", "aten.contiguous", "aten._to_copy", "aten.to", "aten.copy", "aten.copy_",
        "aten.lift_fresh_copy", "aten.constant_pad_nd", "aten.repeat", "aten.tile", "aten.roll",
        "aten.flip", "aten.index", "aten.index_select", "aten.gather", "aten.stack",
        "aten.slice_scatter", "aten.select_scatter", "aten.index_put", "aten.index_put_",
        "aten.masked_select", "aten.detach_", "aten.resize_", "aten.set_",
        # creation: nothing computed from the inputs
        "aten.empty", "aten.empty_like", "aten.empty_strided", "aten.new_empty",
        "aten.new_empty_strided", "aten.zeros", "aten.zeros_like", "aten.new_zeros",
        "aten.ones", "aten.ones_like", "aten.new_ones", "aten.full", "aten.full_like",
        "aten.new_full", "aten.fill", "aten.fill_", "aten.zero_", "aten.arange",
        "aten.scalar_tensor", "aten.tensor", "aten._local_scalar_dense", "aten.linspace",
        # inference dropout is the identity
        "aten.dropout", "aten.native_dropout", "aten.feature_dropout", "aten.alpha_dropout",
        # metadata queries
        "aten.size", "aten.sym_size", "aten.stride", "aten.sym_stride", "aten.numel",
        "aten.sym_numel", "aten.dim", "aten.storage_offset", "aten.sym_storage_offset",
        "aten.is_contiguous", "aten.sym_is_contiguous", "aten.is_strides_like_format",
        "aten.is_non_overlapping_and_dense", "aten.is_same_size", "aten.result_type",
        "aten._has_compatible_shallow_copy_type", "aten.is_nonzero", "prim.device", "prim.layout",
        "aten._assert_async", "aten._assert_scalar", "aten.sym_constrain_range_for_size",
        "aten._functional_assert_async",
    }
)
"""aten ops (overload packets) that cost no arithmetic: views, copies, creation, inference
dropout and metadata. They are counted in :attr:`TorchWalk.ignored`, never as uncounted. ``cat``
along any dimension but channels (dim 1) is treated like a copy too."""

# ops whose outputs are the (a view or a copy of) their first input: a parameter stays a parameter
_PASS_PARAM = frozenset(
    {
        "aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias", "aten.expand",
        "aten.permute", "aten.transpose", "aten.t", "aten.numpy_T", "aten.unsqueeze",
        "aten.squeeze", "aten.flatten", "aten.as_strided", "aten.alias", "aten.slice",
        "aten.select", "aten.split", "aten.split_with_sizes", "aten.unbind", "aten.chunk",
        "aten.narrow", "aten.detach", "aten.clone", "aten._to_copy", "aten.contiguous",
        "aten.lift_fresh", "aten.view_as",
    }
)
_RESHAPES = frozenset({"aten.view", "aten._unsafe_view", "aten.reshape", "aten._reshape_alias"})

_ACTIVATIONS: dict[str, ActivationFn] = {
    "aten.relu": ActivationFn.RELU,
    "aten.relu6": ActivationFn.RELU6,
    "aten.leaky_relu": ActivationFn.LEAKY_RELU,
    "aten.sigmoid": ActivationFn.SIGMOID,
    "aten.tanh": ActivationFn.TANH,
    "aten.gelu": ActivationFn.GELU,
    "aten.silu": ActivationFn.SILU,
    "aten.hardswish": ActivationFn.HARDSWISH,
    "aten.hardsigmoid": ActivationFn.HARDSIGMOID,
    "aten._softmax": ActivationFn.SOFTMAX,
    "aten.softmax": ActivationFn.SOFTMAX,
    "aten._safe_softmax": ActivationFn.SOFTMAX,
}

# element-wise ops: name -> ops per output element
_ELEMENTWISE: dict[str, int] = {
    name: 1
    for name in (
        "add", "sub", "rsub", "mul", "div", "neg", "exp", "exp2", "expm1", "log", "log2",
        "log10", "log1p", "sqrt", "rsqrt", "pow", "abs", "clamp", "clamp_min", "clamp_max",
        "clip", "maximum", "minimum", "fmax", "fmin", "where", "reciprocal", "sin", "cos",
        "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "erf", "erfc", "erfinv", "sign",
        "sgn", "floor", "ceil", "round", "trunc", "frac", "fmod", "remainder", "floor_divide",
        "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not",
        "logical_xor", "bitwise_and", "bitwise_or", "bitwise_not", "bitwise_xor",
        "masked_fill", "square", "hardtanh", "elu", "celu", "selu", "mish", "softplus",
        "softshrink", "hardshrink", "threshold", "_log_softmax", "log_softmax",
        "log_sigmoid_forward", "glu", "prelu", "_prelu_kernel", "rrelu_with_noise", "tril",
        "triu", "isnan", "isinf",
        "nan_to_num", "logit", "xlogy", "heaviside", "copysign", "hypot", "sigmoid_backward",
        "bernoulli", "gelu_backward",
    )
}
_ELEMENTWISE.update({"addcmul": 2, "addcdiv": 2, "lerp": 2})

_REDUCTIONS = frozenset(
    {
        "sum", "mean", "amax", "amin", "max", "min", "prod", "var", "std", "var_mean",
        "std_mean", "logsumexp", "norm", "linalg_vector_norm", "argmax", "argmin", "all", "any",
        "count_nonzero", "nansum", "nanmean", "aminmax",
    }
)

_CONVS = frozenset(
    {
        "aten.convolution", "aten._convolution", "aten.convolution_overrideable",
        "aten.cudnn_convolution", "aten.mkldnn_convolution",
    }
)
_BATCH_NORMS = frozenset(
    {
        "aten.native_batch_norm", "aten._native_batch_norm_legit",
        "aten._native_batch_norm_legit_no_training", "aten._batch_norm_no_update",
        "aten._batch_norm_with_update", "aten.cudnn_batch_norm", "aten.miopen_batch_norm",
        "aten._native_batch_norm_legit_functional",
    }
)
_SDPA = frozenset(
    {
        "aten._scaled_dot_product_flash_attention_for_cpu",
        "aten._scaled_dot_product_flash_attention",
        "aten._scaled_dot_product_efficient_attention",
        "aten._scaled_dot_product_cudnn_attention",
        "aten._scaled_dot_product_fused_attention_overrideable",
    }
)
_MAX_POOLS = frozenset(
    {
        "aten.max_pool1d", "aten.max_pool2d", "aten.max_pool3d", "aten.max_pool1d_with_indices",
        "aten.max_pool2d_with_indices", "aten.max_pool3d_with_indices", "aten.mkldnn_max_pool2d",
    }
)
_AVG_POOLS = frozenset({"aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d"})
_ADAPTIVE = {
    "aten._adaptive_avg_pool2d": PoolMode.AVG,
    "aten._adaptive_avg_pool3d": PoolMode.AVG,
    "aten.adaptive_avg_pool1d": PoolMode.AVG,
    "aten.adaptive_max_pool1d": PoolMode.MAX,
    "aten.adaptive_max_pool2d": PoolMode.MAX,
    "aten.adaptive_max_pool3d": PoolMode.MAX,
}

ROOT = "(root)"
"""How the model itself is named in ``Uncounted.modules``."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class TorchWalk:
    """What one forward of a torch model ran, as layer records."""

    records: list[LayerRecord]
    uncounted: list[Uncounted]
    buffers: int
    """Elements of every unique buffer (running statistics, masks, ...)."""
    params_unique: int
    """Elements of every unique parameter (tied weights once)."""
    input_shapes: tuple[Shape, ...] = ()
    ignored: dict[str, int] = field(default_factory=dict)
    """aten ops run that cost no arithmetic (see :data:`IGNORED`), with counts."""
    params_uncovered: tuple[str, ...] = ()
    """Parameters the forward never used in a costed record (their elements are in
    ``params_unique`` but not in the records' totals)."""


# ---------------------------------------------------------------- internals


@dataclass
class _Pending:
    op: Op
    inputs: tuple[Shape, ...]
    label: str
    fixed: tuple[str, ...] | None
    tied: bool
    bias_tied: bool
    path: tuple[str, ...] = ()


@dataclass
class _Frame:
    module: Any
    fqn: str
    leaf: bool
    consumed: bool = False
    pending: list[_Pending] = field(default_factory=list)


def _parts(fqn: str) -> tuple[str, ...]:
    return tuple(fqn.split(".")) if fqn else ()


def _shape(t: Any) -> Shape:
    return tuple(int(s) for s in t.shape)


def _ints(value: Any, dims: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    items = tuple(int(v) for v in value)
    if len(items) == 1 and dims > 1:
        return items * dims
    return items


def _bind(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """An aten op's arguments by name, defaults filled in."""
    out: dict[str, Any] = {}
    for i, arg in enumerate(func._schema.arguments):
        if i < len(args):
            out[arg.name] = args[i]
        elif arg.name in kwargs:
            out[arg.name] = kwargs[arg.name]
        elif arg.has_default_value():
            out[arg.name] = arg.default_value
        else:
            out[arg.name] = None
    return out


class _Walker:
    """State of one walk: the module stack, the records, what was seen."""

    def __init__(self, model: nn.Module) -> None:
        import torch
        from torch.utils.weak import WeakIdKeyDictionary

        self.torch = torch
        self.model = model
        self.names: dict[int, str] = {}
        for name, mod in model.named_modules():
            self.names.setdefault(id(mod), name)
        self.param_names: dict[int, str] = {}
        for name, p in model.named_parameters():
            self.param_names.setdefault(id(p), name)
        self.derived: Any = WeakIdKeyDictionary()  # tensor -> parameter it is a view/copy of
        self.origin: Any = WeakIdKeyDictionary()  # reshaped tensor -> shape before the reshape
        self.counted: set[tuple[int, int, int]] = set()
        self.used_params: set[int] = set()
        self.stack: list[_Frame] = [_Frame(model, "", leaf=False)]
        self.order: list[_Pending] = []
        self.uncounted: dict[str, tuple[int, list[str]]] = {}
        self.ignored: dict[str, int] = {}
        self.last: _Pending | None = None
        self.linear_out: Any = WeakIdKeyDictionary()  # output of a bias-free Linear -> record

    # ------------------------------------------------------------ modules

    def pre_hook(self, module: Any, args: tuple[Any, ...]) -> None:
        top = self.stack[-1]
        fqn = self.names.get(id(module))
        if fqn is None:
            fqn = ".".join(p for p in (top.fqn, type(module).__name__) if p)
        leaf = next(iter(module.children()), None) is None
        frame = _Frame(module, fqn, leaf)
        self.stack.append(frame)
        x = args[0] if args else None
        if top.consumed or not isinstance(x, self.torch.Tensor):
            frame.consumed = top.consumed
            return
        built = _consume(module, x)
        if built is not None:
            op, inputs, weight = built
            frame.consumed = True
            own = list(module.parameters(recurse=False))
            self.used_params.update(id(p) for p in own)
            others = [p for p in own if weight is None or p is not self.param_of(weight)]
            self.emit(op, inputs, type(module).__name__.lower(), weight, others)

    def post_hook(self, module: Any, args: Any, output: Any) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].module is module:
                for frame in reversed(self.stack[i:]):
                    self.close(frame)
                del self.stack[i:]
                return

    def close(self, frame: _Frame) -> None:
        loose = [p for p in frame.pending if p.fixed is None]
        base = _parts(frame.fqn)
        if frame.leaf and len(loose) == 1:
            loose[0].path = base or (type(frame.module).__name__,)
            return
        seen: dict[str, int] = {}
        for p in loose:
            n = seen[p.label] = seen.get(p.label, 0) + 1
            p.path = (*base, p.label if n == 1 else f"{p.label}_{n}")

    # ------------------------------------------------------------ records

    def param_of(self, t: Any) -> Any:
        if t is None or not isinstance(t, self.torch.Tensor):
            return None
        if id(t) in self.param_names:
            return t
        return self.derived.get(t)

    def emit(
        self,
        op: Op,
        inputs: Sequence[Shape],
        label: str,
        weight: Any = None,
        extra_params: Sequence[Any] = (),
        rows: tuple[int, int] | None = None,
    ) -> None:
        """Queue a record; ``weight`` (a tensor, maybe a view of a parameter) decides its name
        and whether it is tied; ``rows`` = (first, count) uses only those rows of it."""
        frame = self.stack[-1]
        fixed: tuple[str, ...] | None = None
        tied = False
        param = self.param_of(weight)
        if param is not None:
            offset = weight.storage_offset() - param.storage_offset()
            size = weight.numel()
            if rows is not None:
                per_row = weight.numel() // int(weight.shape[0])
                offset, size = offset + rows[0] * per_row, rows[1] * per_row
            key = (id(param), offset, size)
            tied = key in self.counted
            self.counted.add(key)
            self.used_params.add(id(param))
            owner, _, attr = self.param_names[id(param)].rpartition(".")
            inside = frame.fqn == "" or owner == frame.fqn or owner.startswith(frame.fqn + ".")
            if inside and not tied and attr != "weight":
                fixed = (*_parts(owner), attr.removesuffix("_weight"))
            elif inside and not tied and owner != frame.fqn:
                fixed = _parts(owner)
        bias_keys = []
        for t in extra_params:
            p = self.param_of(t)
            if p is not None:
                self.used_params.add(id(p))
                bias_keys.append((id(p), t.storage_offset() - p.storage_offset(), t.numel()))
        # a tied weight may come with a bias of its own (BERT's decoder): judge it apart
        bias_tied = all(k in self.counted for k in bias_keys) if bias_keys else tied
        self.counted.update(bias_keys)
        pending = _Pending(op, tuple(tuple(s) for s in inputs), label, fixed, tied, bias_tied)
        if fixed is not None:
            pending.path = fixed
        frame.pending.append(pending)
        self.order.append(pending)
        self.last = pending

    def uncount(self, name: str) -> None:
        count, modules = self.uncounted.get(name, (0, []))
        where = self.stack[-1].fqn or ROOT
        if where not in modules:
            modules.append(where)
        self.uncounted[name] = (count + 1, modules)

    def ignore(self, name: str) -> None:
        self.ignored[name] = self.ignored.get(name, 0) + 1

    def finish(self) -> tuple[list[LayerRecord], list[Uncounted]]:
        for frame in reversed(self.stack):
            self.close(frame)
        seen: dict[tuple[str, ...], int] = {}
        records = []
        for p in self.order:
            n = seen[p.path] = seen.get(p.path, 0) + 1
            path = p.path if n == 1 else (*p.path[:-1], f"{p.path[-1]}#{n}")
            records.append(LayerRecord(path=path, op=p.op, inputs=p.inputs, tied=p.tied,
                                       bias_tied=p.bias_tied))
        uncounted = [Uncounted(op=k, count=c, modules=tuple(m))
                     for k, (c, m) in self.uncounted.items()]
        return records, uncounted

    # ------------------------------------------------------------ ops

    def on_op(self, func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any], out: Any) -> bool:
        """Handle one op that has run; False if it was neither costed nor ignored."""
        name = str(func._overloadpacket)
        if name in _PASS_PARAM and args and isinstance(args[0], self.torch.Tensor):
            self.track(name, args[0], out)
        if self.stack[-1].consumed:
            return True
        if name in IGNORED:
            self.ignore(name)
            return True
        handler = _HANDLERS.get(name) or _HANDLERS.get(name.removesuffix("_"))
        if handler is None:
            short = name.removeprefix("aten.")
            base = short.removesuffix("_")
            if base in _ELEMENTWISE:
                handler = _elementwise
            elif base in _REDUCTIONS:
                handler = _reduction
            elif name.removesuffix("_") in _ACTIVATIONS:
                handler = _activation
        if handler is None:
            return False
        tensors = [a for a in _flat(args, kwargs) if isinstance(a, self.torch.Tensor)]
        if any(t.numel() == 0 for t in tensors):
            self.ignore(name)  # an empty tensor: nothing to compute
            return True
        handler(self, name, _bind(func, args, kwargs), out)
        return True

    def track(self, name: str, source: Any, out: Any) -> None:
        param = self.param_of(source)
        outs = out if isinstance(out, (list, tuple)) else (out,)
        for o in outs:
            if not isinstance(o, self.torch.Tensor):
                continue
            if param is not None:
                self.derived[o] = param
            if name in _RESHAPES and o is not source:
                self.origin[o] = self.origin.get(source, _shape(source))
                if source in self.linear_out:
                    self.linear_out[o] = self.linear_out[source]


def _flat(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Iterator[Any]:
    for a in (*args, *kwargs.values()):
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


# ---------------------------------------------------------------- module-level records

def _consume(module: Any, x: Any) -> tuple[Op, tuple[Shape, ...], Any] | None:
    """Modules whose aten decomposition hides what they are: one record from the module."""
    from torch import nn

    cls = type(module)
    shape = _shape(x)

    def same_forward(base: type) -> bool:
        return isinstance(module, base) and cls.forward is base.forward  # type: ignore[attr-defined]

    if same_forward(nn.Linear):
        inputs = shape if len(shape) >= 2 else (1, *shape)
        op: Op = Linear(module.in_features, module.out_features, bias=module.bias is not None)
        return op, (inputs,), module.weight
    if same_forward(nn.RMSNorm):
        norm_shape = tuple(int(s) for s in module.normalized_shape)
        op = Norm(NormFn.RMS, norm_shape, weight=module.weight is not None, bias=False)
        return op, (shape,), module.weight
    for norm_cls in (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d):
        if same_forward(norm_cls):
            op = Norm(NormFn.INSTANCE, (shape[1],), weight=module.affine, bias=module.affine)
            return op, (shape,), module.weight
    pools: tuple[tuple[type, int], ...] = (
        (nn.AdaptiveAvgPool1d, 1), (nn.AdaptiveAvgPool2d, 2), (nn.AdaptiveAvgPool3d, 3)
    )
    for pool_cls, dims in pools:
        if same_forward(pool_cls) and len(shape) == dims + 2:
            size = module.output_size
            items = size if isinstance(size, (list, tuple)) else (size,) * dims
            wanted = tuple(shape[2 + i] if n is None else int(n) for i, n in enumerate(items))
            return AdaptivePool(PoolMode.AVG, wanted), (shape,), None
    return None


# ---------------------------------------------------------------- op handlers

Handler = Callable[[_Walker, str, dict[str, Any], Any], None]
_HANDLERS: dict[str, Handler] = {}


def _handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for n in names:
            _HANDLERS[n] = fn
        return fn

    return register


def _label(name: str) -> str:
    return name.removeprefix("aten.").removeprefix("_").removesuffix("_")


@_handles(*_CONVS)
def _conv(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    x, weight = a["input"], a["weight"]
    dims = weight.dim() - 2
    groups = int(a["groups"])
    transposed = bool(a["transposed"])
    if transposed:
        cin, cout = int(weight.shape[0]), int(weight.shape[1]) * groups
    else:
        cin, cout = int(weight.shape[1]) * groups, int(weight.shape[0])
    pads = _ints(a["padding"], dims)
    op = Conv(
        in_channels=cin,
        out_channels=cout,
        kernel=_shape(weight)[2:],
        stride=_ints(a["stride"], dims),
        padding=tuple((p, p) for p in pads),
        dilation=_ints(a["dilation"], dims),
        groups=groups,
        bias=a["bias"] is not None,
        transposed=transposed,
        output_padding=_ints(a["output_padding"], dims) if transposed else (),
    )
    xs = _shape(x)
    w.emit(op, [xs if len(xs) == dims + 2 else (1, *xs)], "conv", weight, [a["bias"]])


def _linear_input(w: _Walker, x: Any) -> Shape:
    shape = _shape(x)
    before = w.origin.get(x)
    if before and before[-1] == shape[-1] and math.prod(before[:-1]) == math.prod(shape[:-1]):
        return tuple(before)
    return shape if len(shape) >= 2 else (1, *shape)


@_handles("aten.addmm", "aten.mm")
def _mm(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
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
    shapes = [_shape(x), _shape(m)] + ([_shape(addend)] if addend is not None else [])
    w.emit(Matmul(), shapes, _label(name))


@_handles("aten.linear")
def _linear(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    weight, bias = a["weight"], a["bias"]
    op = Linear(int(weight.shape[1]), int(weight.shape[0]), bias=bias is not None)
    w.emit(op, [_linear_input(w, a["input"])], "linear", weight, [bias])


@_handles("aten.bmm", "aten.baddbmm", "aten.addbmm")
def _bmm(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    if name == "aten.bmm":
        shapes = [_shape(a["self"]), _shape(a["mat2"])]
    else:
        shapes = [_shape(a["batch1"]), _shape(a["batch2"]), _shape(a["self"])]
    w.emit(Matmul(), shapes, _label(name))


@_handles("aten.mv", "aten.addmv")
def _mv(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    mat, vec = a["mat"], a["vec"]
    shapes = [_shape(mat), (int(vec.shape[0]), 1)]
    if name == "aten.addmv":
        shapes.append((int(mat.shape[0]), 1))
    w.emit(Matmul(), shapes, _label(name))


@_handles("aten.dot", "aten.vdot")
def _dot(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    n = int(a["self"].shape[0])
    w.emit(Matmul(), [(1, n), (n, 1)], _label(name))


@_handles(*_SDPA)
def _sdpa(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    q, k, v = a["query"], a["key"], a["value"]
    shapes = [_shape(q), _shape(k), _shape(v)]
    w.emit(Attention(causal=bool(a.get("is_causal") or False)), shapes, "attention")


@_handles("aten._flash_attention_forward", "aten._efficient_attention_forward")
def _flash(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    q, k, v = a["query"], a["key"], a["value"]
    if q.dim() != 4 or a.get("cum_seq_q", a.get("cu_seqlens_q")) is not None:
        raise _Unsupported  # packed variable-length batches: shapes are data
    swap = [(int(t.shape[0]), int(t.shape[2]), int(t.shape[1]), int(t.shape[3]))
            for t in (q, k, v)]
    causal = bool(a.get("is_causal") or a.get("custom_mask_type") or False)
    w.emit(Attention(causal=causal), swap, "attention")


class _Unsupported(Exception):
    """A handler met a form of its op it cannot cost: the op is listed as uncounted."""


def _projections(
    w: _Walker, qkv_weight: Any, qkv_bias: Any, q: Any, k: Any, v: Any, embed: int
) -> None:
    """The input projections of fused attention, as the unfused path runs them."""
    has_bias = qkv_bias is not None
    if q is k and k is v:
        w.emit(Linear(embed, 3 * embed, has_bias), [_shape(q)], "in_proj", qkv_weight, [qkv_bias])
        return
    parts = [(q, 0, 1), (k, 1, 2)] if k is v else [(q, 0, 1), (k, 1, 1), (v, 2, 1)]
    for x, first, n in parts:
        w.emit(Linear(embed, n * embed, has_bias), [_shape(x)], "in_proj", qkv_weight,
               [qkv_bias], rows=(first * embed, n * embed))


def _heads(shape: Shape, heads: int) -> Shape:
    b, length, e = shape
    return (b, heads, length, e // heads)


@_handles("aten._native_multi_head_attention")
def _native_mha(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    q, k, v = a["query"], a["key"], a["value"]
    if q.dim() != 3 or k.dim() != 3 or v.dim() != 3:
        raise _Unsupported
    embed, heads = int(a["embed_dim"]), int(a["num_head"])
    _projections(w, a["qkv_weight"], a["qkv_bias"], q, k, v, embed)
    shapes = [_heads(_shape(q), heads), _heads(_shape(k), heads), _heads(_shape(v), heads)]
    w.emit(Attention(), shapes, "attention")
    out_shape = (*_shape(q)[:-1], embed)
    w.emit(Linear(embed, int(a["proj_weight"].shape[0]), a["proj_bias"] is not None),
           [out_shape], "out_proj", a["proj_weight"], [a["proj_bias"]])


@_handles("aten._transformer_encoder_layer_fwd")
def _encoder_layer(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    src = a["src"]
    if src.dim() != 3:
        raise _Unsupported
    x = _shape(src)
    embed, heads = int(a["embed_dim"]), int(a["num_heads"])
    ffn = int(a["ffn_weight_1"].shape[0])

    def norm(i: int) -> None:
        weight, bias = a[f"norm_weight_{i}"], a[f"norm_bias_{i}"]
        op = Norm(NormFn.LAYER, (embed,), weight is not None, bias is not None)
        w.emit(op, [x], "layer_norm", weight, [bias])

    if a["norm_first"]:
        norm(1)
    w.emit(Linear(embed, 3 * embed, a["qkv_bias"] is not None), [x], "in_proj",
           a["qkv_weight"], [a["qkv_bias"]])
    w.emit(Attention(), [_heads(x, heads)] * 3, "attention")
    w.emit(Linear(embed, embed, a["proj_bias"] is not None), [x], "out_proj",
           a["proj_weight"], [a["proj_bias"]])
    w.emit(Add(), [x, x], "add")
    norm(2 if a["norm_first"] else 1)
    w.emit(Linear(embed, ffn, a["ffn_bias_1"] is not None), [x], "linear1",
           a["ffn_weight_1"], [a["ffn_bias_1"]])
    fn = ActivationFn.GELU if a["use_gelu"] else ActivationFn.RELU
    w.emit(Activation(fn), [(*x[:-1], ffn)], str(fn))
    w.emit(Linear(ffn, embed, a["ffn_bias_2"] is not None), [(*x[:-1], ffn)], "linear2",
           a["ffn_weight_2"], [a["ffn_bias_2"]])
    w.emit(Add(), [x, x], "add")
    if not a["norm_first"]:
        norm(2)


@_handles(*_BATCH_NORMS)
def _batch_norm(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    x, weight = a["input"], a["weight"]
    op = BatchNorm(int(x.shape[1]), affine=weight is not None,
                   track_running_stats=a["running_mean"] is not None)
    w.emit(op, [_shape(x)], "batch_norm", weight, [a["bias"]])


@_handles("aten.native_layer_norm", "aten._fused_rms_norm")
def _layer_norm(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    fn = NormFn.RMS if "rms" in name else NormFn.LAYER
    weight, bias = a["weight"], a.get("bias")
    op = Norm(fn, tuple(int(s) for s in a["normalized_shape"]), weight is not None,
              bias is not None)
    w.emit(op, [_shape(a["input"])], str(fn), weight, [bias])


@_handles("aten.native_group_norm")
def _group_norm(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    weight, bias = a["weight"], a["bias"]
    op = Norm(NormFn.GROUP, (int(a["C"]),), weight is not None, bias is not None,
              groups=int(a["group"]))
    w.emit(op, [_shape(a["input"])], "group_norm", weight, [bias])


def _activation(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    fn = _ACTIVATIONS[name.removesuffix("_")]
    w.emit(Activation(fn), [_shape(a["self"])], str(fn))


@_handles("aten.hardtanh")
def _hardtanh(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    if float(a["min_val"]) == 0.0 and float(a["max_val"]) == 6.0:
        w.emit(Activation(ActivationFn.RELU6), [_shape(a["self"])], "relu6")
    else:
        w.emit(Elementwise("hardtanh"), [_shape(a["self"])], "hardtanh")


def _pool_input(x: Any, dims: int) -> Shape:
    s = _shape(x)
    return s if len(s) == dims + 2 else (1, *s)


@_handles(*_MAX_POOLS, *_AVG_POOLS)
def _pool(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    dims = 2 if name == "aten.mkldnn_max_pool2d" else int(name.split("pool")[1][0])
    x = a["self"]
    kernel = _ints(a["kernel_size"], dims)
    stride = _ints(a["stride"], dims) if a["stride"] else kernel
    mode = PoolMode.MAX if "max" in name else PoolMode.AVG
    dilation = _ints(a["dilation"], dims) if "dilation" in a else (1,) * dims
    op = Pool(mode, kernel, stride, _ints(a["padding"], dims), dilation,
              ceil_mode=bool(a["ceil_mode"]))
    w.emit(op, [_pool_input(x, dims)], f"{mode}_pool")


@_handles(*_ADAPTIVE)
def _adaptive(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    size = tuple(int(s) for s in a["output_size"])
    mode = _ADAPTIVE[name]
    w.emit(AdaptivePool(mode, size), [_pool_input(a["self"], len(size))], f"adaptive_{mode}_pool")


def _tensor_shapes(w: _Walker, a: dict[str, Any]) -> list[Shape]:
    return [_shape(v) for v in a.values() if isinstance(v, w.torch.Tensor)]


def _elementwise(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    base = name.removeprefix("aten.").removesuffix("_")
    shapes = _tensor_shapes(w, a)
    if not shapes:
        raise _Unsupported
    if base == "add" and _fold_bias(w, a):
        return
    if base == "add" and len(shapes) == 2 and shapes[0] == shapes[1] and a.get("alpha", 1) == 1:
        w.emit(Add(), shapes, "add")
        return
    w.emit(Elementwise(base, _ELEMENTWISE[base]), shapes, base)


def _fold_bias(w: _Walker, a: dict[str, Any]) -> bool:
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


def _reduction(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    base = name.removeprefix("aten.").removesuffix("_")
    x = a["self"]
    dim = a.get("dim")
    dims: tuple[int, ...] = () if dim is None else _ints(dim, 1) if isinstance(dim, int) else \
        tuple(int(d) for d in dim)
    keep = bool(a.get("keepdim") or False)
    w.emit(Reduce(base, dims, keep), [_shape(x)], base)


@_handles("aten.cat", "aten.concat", "aten.concatenate")
def _cat(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    tensors = [t for t in a["tensors"] if t.numel() > 0]
    shapes = [_shape(t) for t in tensors]
    first = shapes[0] if shapes else ()
    ok = len(shapes) >= 2 and len(first) >= 2 and all(
        len(s) == len(first) and s[0] == first[0] and s[2:] == first[2:] for s in shapes
    )
    if ok and int(a["dim"]) % len(first) == 1:
        w.emit(Concat(), shapes, "cat")
    else:
        w.ignore(name)  # a copy along another dimension: no arithmetic


@_handles("aten.embedding")
def _embedding(w: _Walker, name: str, a: dict[str, Any], out: Any) -> None:
    weight = a["weight"]
    op = Embedding(int(weight.shape[0]), int(weight.shape[1]))
    w.emit(op, [_shape(a["indices"])], "embedding", weight)


# ---------------------------------------------------------------- running


def _dispatch_mode(walker: _Walker) -> Any:
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class CountingMode(TorchDispatchMode):  # type: ignore[no-untyped-call]
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            # An eager walk: wrapping the handler in dynamo's `disable` (torch's default for
            # dispatch modes) would import torch._dynamo, about a second, on the first op.
            return False

        def __torch_dispatch__(
            self, func: Any, types: Any, args: tuple[Any, ...] = (),
            kwargs: Mapping[str, Any] | None = None,
        ) -> Any:
            kwargs = kwargs or {}
            if not isinstance(func, torch._ops.OpOverload):
                out = func(*args, **kwargs)
                walker.uncount(str(func))
                return out
            name = str(func._overloadpacket)
            known = (
                name in IGNORED or name in _HANDLERS or name.removesuffix("_") in _HANDLERS
                or name.removeprefix("aten.").removesuffix("_") in _ELEMENTWISE
                or name.removeprefix("aten.").removesuffix("_") in _REDUCTIONS
                or name.removesuffix("_") in _ACTIVATIONS or walker.stack[-1].consumed
            )
            if not known:  # a composite op we do not know may decompose into ops we do
                with self:
                    r = func.decompose(*args, **kwargs)
                if r is not NotImplemented:
                    return r
            out = func(*args, **kwargs)
            try:
                handled = walker.on_op(func, args, kwargs, out)
            except (_Unsupported, ConvcostError, ValueError, TypeError, KeyError, IndexError,
                    AttributeError, RuntimeError):
                handled = False
            if not handled:
                walker.uncount(name)
            return out

    return CountingMode()  # type: ignore[no-untyped-call]


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Every module in eval for the walk; each module's own flag restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        for m, _ in flags:
            m.training = False
        yield
    finally:
        for m, flag in flags:
            m.training = flag


@contextmanager
def _quiet_fake_tensors() -> Iterator[None]:
    """FakeTensorMode logs a traceback at ERROR level before re-raising a failing op; the
    error reaches the user once, as an AnalysisError."""
    import logging

    logger = logging.getLogger("torch._subclasses.fake_tensor")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _module_hooks(walker: _Walker) -> Iterator[None]:
    from torch.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
    )

    pre = register_module_forward_pre_hook(walker.pre_hook)
    try:
        post = register_module_forward_hook(walker.post_hook)
    except BaseException:
        pre.remove()
        raise
    try:
        yield
    finally:
        pre.remove()
        post.remove()


InputLike = Any
"""An InputSpec, a ``(shape, dtype)`` pair, a bare shape or a tensor (only its shape and dtype
are used)."""


def _specs(inputs: Sequence[InputLike]) -> list[InputSpec]:
    import torch

    from convcost.frontends.torch_source import InputSpec, parse_dtype

    out = []
    for item in inputs:
        if isinstance(item, InputSpec):
            out.append(item)
        elif isinstance(item, torch.Tensor):
            out.append(InputSpec(_shape(item), str(item.dtype).removeprefix("torch.")))
        elif (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (tuple, list))):
            shape, dtype = item
            word = str(dtype).removeprefix("torch.")
            out.append(InputSpec(tuple(int(s) for s in shape), parse_dtype(word)))
        elif isinstance(item, (tuple, list)) and all(isinstance(s, int) for s in item):
            out.append(InputSpec(tuple(int(s) for s in item)))
        else:
            raise InputError(f"cannot read a model input from {item!r}")
    if not out:
        raise InputError("the model needs at least one input shape")
    for spec in out:
        if any(s < 1 for s in spec.shape):
            raise InputError(f"input shape {list(spec.shape)} must hold sizes >= 1")
    return out


def model_device(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter or buffer; None if it has neither."""
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return None


def _is_meta(model: nn.Module) -> bool:
    tensors = [*model.parameters(), *model.buffers()]
    return all(t.device.type == "meta" for t in tensors)


def _unique_numel(tensors: Iterator[torch.Tensor]) -> int:
    seen: set[int] = set()
    total = 0
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel()
    return total


def walk(
    model: nn.Module, inputs: Sequence[InputLike], *, grad: bool = False
) -> TorchWalk:
    """Run one forward of ``model`` on inputs of the given shapes and record what it ran.

    ``inputs``: one item per positional argument of ``forward`` — an :class:`InputSpec`, a
    ``(shape, dtype)`` pair, a bare shape (float32) or a tensor (only its shape and dtype are
    read). The model is left exactly as found (see the module docstring).
    """
    import torch

    specs = _specs(inputs)
    walker = _Walker(model)
    meta = _is_meta(model)
    device = torch.device("meta") if meta else (model_device(model) or torch.device("cpu"))
    shapes = tuple(s.shape for s in specs)
    with ExitStack() as stack:
        if not meta:
            from torch._subclasses.fake_tensor import FakeTensorMode

            stack.enter_context(_quiet_fake_tensors())
            stack.enter_context(FakeTensorMode(allow_non_fake_inputs=True))
        try:
            args = [torch.empty(s.shape, dtype=s.torch_dtype(), device=device) for s in specs]
        except Exception as err:
            raise AnalysisError(f"cannot make inputs {list(shapes)}: {_first(err)}") from err
        stack.enter_context(_eval_mode(model))
        stack.enter_context(torch.set_grad_enabled(grad))
        stack.enter_context(_module_hooks(walker))
        stack.enter_context(_dispatch_mode(walker))
        try:
            model(*args)
        except ConvcostError:
            raise
        except Exception as err:
            shown = ", ".join(str(list(s)) for s in shapes)
            where = walker.stack[-1].fqn
            inside = f" in module {where!r}" if where else ""
            raise AnalysisError(
                f"the model's forward failed{inside} on input {shown}: {_first(err)}"
            ) from err
    records, uncounted = walker.finish()
    names = dict(model.named_parameters())
    uncovered = tuple(n for n, p in names.items() if id(p) not in walker.used_params)
    # parameters used directly (class tokens, position embeddings) or not at all are still
    # parameters: one record each, so that the rows add up to sum(p.numel())
    records += [
        LayerRecord(tuple(n.split(".")), FreeParameter(names[n].numel()), ())
        for n in uncovered
    ]
    return TorchWalk(
        records=records,
        uncounted=uncounted,
        buffers=_unique_numel(model.buffers()),
        params_unique=_unique_numel(model.parameters()),
        input_shapes=shapes,
        ignored=dict(walker.ignored),
        params_uncovered=uncovered,
    )


def _first(err: BaseException) -> str:
    from convcost.frontends.torch_source import first_line

    return first_line(err)
