"""An ONNX graph -> layer records, with the same core ops and conventions as the torch front-end.

Every node is costed (a record of a core op), free (:data:`FREE`: views, copies, casts,
inference dropout — no arithmetic, counted in ``ignored``) or uncounted (listed, and the totals
become lower bounds). Two-node patterns the exporters write for one torch op are read as that
op: ``x * Sigmoid(x)`` is SiLU, ``x * HardSigmoid(x)`` (α = 1/6) is HardSwish, and ``MatMul``
by a weight then ``Add`` of a vector is one biased linear layer.

Parameters are initializers (or Constant tensors) used as a layer's weights: each is counted
once (a record reusing one is ``tied``); floating-point initializers no record uses are
parameters too (one ``FreeParameter`` record each, as the torch front-end does). Never imports
torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from convcost.core.ops import (
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
    NormFn,
    Op,
    Pool,
    PoolMode,
    Reduce,
    Shape,
)
from convcost.core.records import LayerRecord, Uncounted
from convcost.errors import AnalysisError, ConvcostError
from convcost.frontends.onnx_load import Graph
from convcost.frontends.onnx_names import assign_paths, module_of, owner_of

ROOT = "(root)"

FREE: frozenset[str] = frozenset({
    "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Shape", "Size",
    "Constant", "ConstantOfShape", "Cast", "CastLike", "Slice", "Split", "Expand", "Tile", "Pad",
    "Range", "Dropout", "DepthToSpace", "SpaceToDepth", "Gather", "GatherElements", "GatherND",
    "ScatterND", "ScatterElements", "Concat", "OptionalHasElement", "OptionalGetElement",
    "SequenceConstruct", "SequenceAt", "SplitToSequence", "ConcatFromSequence", "EyeLike",
    "NonZero", "Trilu",
})
"""ONNX ops that cost no arithmetic (a Concat along any axis but channels is a copy)."""

_ACTIVATIONS = {
    "Relu": ActivationFn.RELU, "Sigmoid": ActivationFn.SIGMOID, "Tanh": ActivationFn.TANH,
    "HardSwish": ActivationFn.HARDSWISH, "HardSigmoid": ActivationFn.HARDSIGMOID,
    "Gelu": ActivationFn.GELU, "LeakyRelu": ActivationFn.LEAKY_RELU, "Swish": ActivationFn.SILU,
    "Softmax": ActivationFn.SOFTMAX,
}
_ELEMENTWISE = {
    "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Max": "maximum",
    "Min": "minimum", "Mean": "mean", "Sum": "add", "Neg": "neg", "Abs": "abs", "Exp": "exp",
    "Log": "log", "Sqrt": "sqrt", "Reciprocal": "reciprocal", "Erf": "erf", "Sin": "sin",
    "Cos": "cos", "Tan": "tan", "Floor": "floor", "Ceil": "ceil", "Round": "round",
    "Sign": "sign", "Not": "logical_not", "And": "logical_and", "Or": "logical_or",
    "Xor": "logical_xor", "Equal": "eq", "Less": "lt", "LessOrEqual": "le", "Greater": "gt",
    "GreaterOrEqual": "ge", "Where": "where", "Mod": "fmod", "Elu": "elu", "Selu": "selu",
    "Celu": "celu", "Softplus": "softplus", "Softsign": "softsign", "Mish": "mish",
    "PRelu": "prelu", "ThresholdedRelu": "threshold", "LogSoftmax": "log_softmax",
    "IsNaN": "isnan", "IsInf": "isinf", "Atan": "atan", "Asin": "asin", "Acos": "acos",
    "Sinh": "sinh", "Cosh": "cosh", "BitwiseAnd": "bitwise_and", "BitwiseOr": "bitwise_or",
    "BitwiseNot": "bitwise_not", "BitwiseXor": "bitwise_xor", "Shrink": "softshrink",
}
_REDUCTIONS = {
    "ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax", "ReduceMin": "amin",
    "ReduceProd": "prod", "ReduceL1": "norm", "ReduceL2": "norm", "ReduceLogSumExp": "logsumexp",
    "ReduceSumSquare": "sum", "ReduceLogSum": "logsumexp", "ArgMax": "argmax", "ArgMin": "argmin",
}
_FLOAT_TYPES = frozenset({1, 10, 11, 16})  # float, float16, double, bfloat16


class Unsupported(Exception):
    """A node in a form convcost does not cost (it is listed as uncounted)."""


class NoShape(Unsupported):
    """ONNX shape inference left one of a node's input shapes unknown."""


@dataclass
class _Pending:
    op: Op
    inputs: tuple[Shape, ...]
    label: str
    node: Any
    weight: str | None = None
    extra: tuple[str, ...] = ()


@dataclass
class OnnxWalk:
    records: list[LayerRecord]
    uncounted: list[Uncounted]
    ignored: dict[str, int] = field(default_factory=dict)
    node_paths: dict[str, str] = field(default_factory=dict)
    """Node name -> the name of the record it became (for per-layer references)."""
    params_unique: int = 0


class _Walker:
    def __init__(self, graph: Graph) -> None:
        self.g = graph
        nodes = list(graph.model.graph.node)
        self.nodes = nodes
        self.tensors: dict[str, Any] = dict(graph.initializers)
        for n in nodes:
            if n.op_type == "Constant" and n.output:
                for a in n.attribute:
                    if a.name == "value":
                        self.tensors[n.output[0]] = a.t
        # The TorchScript exporter stores parameters of equal values once and gives each of
        # the others as Identity(first), named after the parameter: still a parameter of its
        # own. An Identity of anything else is just another name for its input.
        self.alias: dict[str, str] = {}
        for n in nodes:
            if n.op_type == "Identity" and n.input and n.output:
                source = self.resolve(n.input[0])
                if source in self.tensors:
                    self.tensors[n.output[0]] = self.tensors[source]
                else:
                    self.alias[n.output[0]] = source
        self.consumers: dict[str, list[Any]] = {}
        for n in nodes:
            for name in n.input:
                self.consumers.setdefault(self.resolve(name), []).append(n)
        self.producers = {o: n for n in nodes for o in n.output}
        self.pending: list[_Pending] = []
        self.done: set[int] = set()  # ids of nodes folded into another's record
        self.uncounted: dict[str, tuple[int, list[str]]] = {}
        self.ignored: dict[str, int] = {}

    # ------------------------------------------------------------ values

    def resolve(self, name: str) -> str:
        return self.alias.get(name, name)

    def shape(self, name: str, node: Any) -> Shape:
        name = self.resolve(name)
        shape = self.g.shapes.get(name)
        if shape is None:
            raise NoShape(name)
        return shape

    def param(self, name: str) -> bool:
        return self.resolve(name) in self.tensors

    def value(self, name: str) -> Any:
        return self.g.constants.get(self.resolve(name))

    def inp(self, node: Any, i: int) -> str | None:
        return node.input[i] if len(node.input) > i and node.input[i] else None

    def single_use(self, name: str) -> Any:
        users = self.consumers.get(self.resolve(name), [])
        outputs = {o.name for o in self.g.model.graph.output}
        return users[0] if len(users) == 1 and name not in outputs else None

    # ------------------------------------------------------------ emitting

    def emit(self, node: Any, op: Op, inputs: list[Shape], label: str,
             weight: str | None = None, extra: tuple[str | None, ...] = ()) -> None:
        self.pending.append(_Pending(
            op, tuple(inputs), label, node, self.resolve(weight) if weight else None,
            tuple(self.resolve(e) for e in extra if e)))

    def uncount(self, node: Any, why: str = "") -> None:
        key = node.op_type + why
        count, modules = self.uncounted.get(key, (0, []))
        where = module_of(node)
        where = (where or ROOT) if where is not None else (node.name or ROOT)
        if where not in modules:
            modules.append(where)
        self.uncounted[key] = (count + 1, modules)

    def run(self) -> OnnxWalk:
        for node in self.nodes:
            if id(node) in self.done:
                continue
            if node.domain not in ("", "ai.onnx"):
                self.uncount(node)
                continue
            handler = _HANDLERS.get(node.op_type)
            try:
                if handler is not None:
                    handler(self, node)
                elif node.op_type in _ACTIVATIONS:
                    _activation(self, node)
                elif node.op_type in _ELEMENTWISE:
                    _elementwise(self, node)
                elif node.op_type in _REDUCTIONS:
                    _reduce(self, node)
                elif node.op_type in FREE:
                    self.ignored[node.op_type] = self.ignored.get(node.op_type, 0) + 1
                else:
                    self.uncount(node)
            except NoShape:
                if node.op_type in ("Concat", "Gather"):  # shape arithmetic: a copy
                    self.ignored[node.op_type] = self.ignored.get(node.op_type, 0) + 1
                else:
                    self.uncount(node, " (shape not inferred)")
            except (Unsupported, ConvcostError) as err:
                if isinstance(err, AnalysisError):
                    raise
                self.uncount(node)
        return self.finish()

    def finish(self) -> OnnxWalk:
        items: list[tuple[str | None, str | None, str, str]] = []
        seen: set[str] = set()
        for p in self.pending:
            # a shared weight names only its first user (as in the torch front-end)
            owner = owner_of(p.weight) if p.weight and p.weight not in seen else None
            if p.weight:
                seen.add(p.weight)
            items.append((module_of(p.node), owner, p.label,
                          p.node.name or f"{p.node.op_type.lower()}_{len(items)}"))
        paths = assign_paths(items)
        counted: set[str] = set()
        records: list[LayerRecord] = []
        node_paths: dict[str, str] = {}
        for p, path in zip(self.pending, paths, strict=True):
            tied = p.weight is not None and p.weight in counted
            if p.weight:
                counted.add(p.weight)
            bias_tied = all(e in counted for e in p.extra) if p.extra else tied
            counted.update(p.extra)
            records.append(LayerRecord(path, p.op, p.inputs, tied=tied, bias_tied=bias_tied))
            node_paths.setdefault(p.node.name, ".".join(path))
        stored = {id(t) for t in self.g.initializers.values()}
        for name, t in self.tensors.items():
            # initializers only: a Constant node is a value of the graph (a zero state, a
            # scale), not a parameter, unless a layer uses it as its weights
            if name in counted or t.data_type not in _FLOAT_TYPES or id(t) not in stored:
                continue
            size = math.prod(int(d) for d in t.dims)
            users = self.consumers.get(name, [])
            if size > 1 and any(_data_slot(u, name) for u in users):
                records.append(LayerRecord(tuple(name.split(".")), FreeParameter(size), ()))
                counted.add(name)
        unique = sum(math.prod(int(d) for d in self.tensors[n].dims) for n in counted
                     if n in self.tensors)
        uncounted = [Uncounted(op=k, count=c, modules=tuple(m))
                     for k, (c, m) in self.uncounted.items()]
        return OnnxWalk(records, uncounted, dict(self.ignored), node_paths, unique)


_SHAPE_SLOTS = {"Reshape": 1, "Resize": 1, "Upsample": 1, "Expand": 1, "Tile": 1, "Pad": 1,
                "Slice": 1, "Clip": 1, "ConstantOfShape": 0, "Split": 1, "Squeeze": 1,
                "Unsqueeze": 1, "Range": 0, "TopK": 1, "ReduceMean": 1, "ReduceSum": 1}


def _data_slot(node: Any, name: str) -> bool:
    """Whether ``name`` feeds ``node`` as data, not as a shape, axes or bound."""
    if node.op_type == "Identity":
        return False  # another parameter's name for it: counted under that name
    first_meta = _SHAPE_SLOTS.get(node.op_type)
    return any(i < first_meta if first_meta is not None else True
               for i, n in enumerate(node.input) if n == name)


# ---------------------------------------------------------------- handlers

Handler = Callable[[_Walker, Any], None]
_HANDLERS: dict[str, Handler] = {}


def _handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for n in names:
            _HANDLERS[n] = fn
        return fn
    return register


def attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _decode(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _pads(a: dict[str, Any], spatial: Shape, kernel: Shape, stride: Shape,
          dilation: Shape) -> tuple[tuple[int, int], ...]:
    dims = len(kernel)
    auto = _decode(a.get("auto_pad", "NOTSET"))
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


@_handles("Conv", "ConvTranspose")
def _conv(w: _Walker, node: Any) -> None:
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
        auto = _decode(a.get("auto_pad", "NOTSET"))
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


def _linear_from(w: _Walker, node: Any, x: Shape, k: int, n: int, weight: str,
                 bias: str | None) -> None:
    op = Linear(k, n, bias=bias is not None)
    w.emit(node, op, [x if len(x) >= 2 else (1, *x)], "linear", weight, (bias,))


@_handles("Gemm")
def _gemm(w: _Walker, node: Any) -> None:
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


@_handles("MatMul")
def _matmul(w: _Walker, node: Any) -> None:
    x, b = node.input
    xs, bs = w.shape(x, node), w.shape(b, node)
    if w.param(b) and len(bs) == 2 and len(xs) >= 1:
        bias = None
        user = w.single_use(node.output[0])
        if user is not None and user.op_type == "Add":
            other = [i for i in user.input if w.resolve(i) != w.resolve(node.output[0])]
            if len(other) == 1 and w.param(other[0]) and \
                    w.shape(other[0], user)[-1:] == (bs[1],) and \
                    math.prod(w.shape(other[0], user)) == bs[1]:
                bias = other[0]
                w.done.add(id(user))
                w.ignored["Add (linear bias)"] = w.ignored.get("Add (linear bias)", 0) + 1
        _linear_from(w, node, xs, bs[0], bs[1], b, bias)
        return
    if len(xs) < 2 or len(bs) < 2:
        raise Unsupported
    w.emit(node, Matmul(), [xs, bs], "matmul")


@_handles("BatchNormalization")
def _batch_norm(w: _Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    scale, bias = node.input[1], node.input[2]
    stats = tuple(node.input[3:5])
    op = BatchNorm(xs[1], affine=True, track_running_stats=True)
    w.emit(node, op, [xs], "batch_norm", scale, (bias, *stats))


@_handles("LayerNormalization")
def _layer_norm(w: _Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    axis = int(attrs(node).get("axis", -1)) % len(xs)
    bias = w.inp(node, 2)
    op = Norm(NormFn.LAYER, xs[axis:], weight=True, bias=bias is not None)
    w.emit(node, op, [xs], "layer_norm", node.input[1], (bias,))


@_handles("InstanceNormalization", "GroupNormalization")
def _channel_norm(w: _Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    if node.op_type == "GroupNormalization":
        op = Norm(NormFn.GROUP, (xs[1],), groups=int(attrs(node)["num_groups"]))
        label = "group_norm"
    else:
        op, label = Norm(NormFn.INSTANCE, (xs[1],)), "instance_norm"
    w.emit(node, op, [xs], label, node.input[1], (w.inp(node, 2),))


def _activation(w: _Walker, node: Any) -> None:
    fn = _ACTIVATIONS[node.op_type]
    w.emit(node, Activation(fn), [w.shape(node.input[0], node)], str(fn))


@_handles("Clip")
def _clip(w: _Walker, node: Any) -> None:
    a = attrs(node)
    lo: Any = a.get("min")
    hi: Any = a.get("max")
    if w.inp(node, 1):
        lo = w.value(node.input[1])
    if w.inp(node, 2):
        hi = w.value(node.input[2])
    xs = w.shape(node.input[0], node)
    try:
        relu6 = lo is not None and hi is not None and float(lo) == 0.0 and float(hi) == 6.0
    except (TypeError, ValueError):
        relu6 = False
    if relu6:
        w.emit(node, Activation(ActivationFn.RELU6), [xs], "relu6")
    else:
        w.emit(node, Elementwise("clamp"), [xs], "clamp")


def _gate_pattern(w: _Walker, node: Any) -> ActivationFn | None:
    """Mul(x, Sigmoid(x)) is SiLU; Mul(x, HardSigmoid(x)) with α = 1/6, β = 1/2 is HardSwish."""
    if node.op_type != "Mul" or len(node.input) != 2:
        return None
    for gate_name, x in ((node.input[1], node.input[0]), (node.input[0], node.input[1])):
        gate = w.producers.get(w.resolve(gate_name))
        if gate is None or not gate.input or w.resolve(gate.input[0]) != w.resolve(x):
            continue
        if w.single_use(gate_name) is not node:
            continue
        if gate.op_type == "Sigmoid":
            fn = ActivationFn.SILU
        elif gate.op_type == "HardSigmoid":
            a = attrs(gate)
            if abs(a.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(a.get("beta", 0.5) - 0.5) > 1e-6:
                continue
            fn = ActivationFn.HARDSWISH
        else:
            continue
        w.pending = [p for p in w.pending if p.node is not gate]
        return fn
    return None


def _elementwise(w: _Walker, node: Any) -> None:
    fn = _gate_pattern(w, node)
    if fn is not None:
        w.emit(node, Activation(fn), [w.shape(node.input[0], node)], str(fn))
        return
    name = _ELEMENTWISE[node.op_type]
    shapes = [w.shape(i, node) for i in node.input if i and not _scalar(w, i)]
    if not shapes:
        shapes = [w.shape(node.input[0], node)]
    if name == "add" and len(shapes) >= 2 and all(s == shapes[0] for s in shapes):
        w.emit(node, Add(), shapes, "add")
        return
    w.emit(node, Elementwise(name), shapes, name)


@_handles("Erf")
def _erf(w: _Walker, node: Any) -> None:
    """``x * 0.5 * (1 + erf(x / √2))`` (torch's exporter below opset 20) is one GELU."""
    chain = _gelu_chain(w, node)
    if chain is None:
        _elementwise(w, node)
        return
    x, before, after = chain
    w.pending = [p for p in w.pending if all(p.node is not b for b in before)]
    w.done.update(id(n) for n in after)
    w.emit(after[-1], Activation(ActivationFn.GELU), [w.shape(x, node)], "gelu")


def _gelu_chain(w: _Walker, erf: Any) -> tuple[str, list[Any], list[Any]] | None:
    def other(n: Any, known: str) -> str | None:
        rest = [i for i in n.input if w.resolve(i) != w.resolve(known)]
        return rest[0] if len(rest) == 1 else None

    div = w.producers.get(w.resolve(erf.input[0]))
    if div is None or div.op_type not in ("Div", "Mul") or not _scalar(w, div.input[1]):
        return None
    x = div.input[0]
    add = w.single_use(erf.output[0])
    if add is None or add.op_type != "Add" or not _scalar(w, other(add, erf.output[0]) or ""):
        return None
    mul = w.single_use(add.output[0])
    if mul is None or mul.op_type != "Mul":
        return None
    partner = other(mul, add.output[0]) or ""
    if w.resolve(partner) == w.resolve(x):
        last = w.single_use(mul.output[0])
        if last is None or last.op_type != "Mul" or \
                not _scalar(w, other(last, mul.output[0]) or ""):
            return None
        return x, [div], [add, mul, last]
    half = w.producers.get(w.resolve(partner))
    if half is None or half.op_type != "Mul" or w.single_use(partner) is not mul or \
            w.resolve(half.input[0]) != w.resolve(x) or not _scalar(w, half.input[1]):
        return None
    return x, [div, half], [add, mul]


def _scalar(w: _Walker, name: str) -> bool:
    """A one-element constant: a Python number in the source model."""
    shape = w.g.shapes.get(w.resolve(name))
    return w.param(name) and shape is not None and math.prod(shape) == 1


def _axes(w: _Walker, node: Any) -> tuple[int, ...] | None:
    a = attrs(node)
    if "axes" in a:
        return tuple(int(x) for x in a["axes"])
    if w.inp(node, 1):
        value = w.value(node.input[1])
        if value is None:
            raise Unsupported
        return tuple(int(x) for x in list(value.reshape(-1)))
    return None


def _reduce(w: _Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    a = attrs(node)
    if node.op_type in ("ArgMax", "ArgMin"):
        axes: tuple[int, ...] | None = (int(a.get("axis", 0)),)
    else:
        axes = _axes(w, node)
    keep = bool(a.get("keepdims", 1))
    rank = len(xs)
    normal = sorted({x % rank for x in axes}) if axes else []
    if node.op_type == "ReduceMean" and keep and rank >= 3 and normal == list(range(2, rank)):
        # the mean over every spatial position: torch's AdaptiveAvgPool(1), as exported
        w.emit(node, AdaptivePool(PoolMode.AVG, (1,) * (rank - 2)), [xs], "adaptive_avg_pool")
        return
    if not axes and a.get("noop_with_empty_axes", 0):
        w.ignored[node.op_type] = w.ignored.get(node.op_type, 0) + 1
        return
    name = _REDUCTIONS[node.op_type]
    w.emit(node, Reduce(name, tuple(normal), keep), [xs], name)


@_handles("MaxPool", "AveragePool", "LpPool")
def _pool(w: _Walker, node: Any) -> None:
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


@_handles("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def _global_pool(w: _Walker, node: Any) -> None:
    xs = w.shape(node.input[0], node)
    mode = PoolMode.MAX if node.op_type == "GlobalMaxPool" else PoolMode.AVG
    w.emit(node, AdaptivePool(mode, (1,) * (len(xs) - 2)), [xs], f"adaptive_{mode}_pool")


@_handles("Concat")
def _concat(w: _Walker, node: Any) -> None:
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


@_handles("Gather")
def _gather(w: _Walker, node: Any) -> None:
    data, ids = node.input[0], node.input[1]
    ds = w.shape(data, node)
    t = w.tensors.get(w.resolve(data))
    if t is not None and len(ds) == 2 and t.data_type in _FLOAT_TYPES and \
            int(attrs(node).get("axis", 0)) == 0 and not w.param(ids):
        w.emit(node, Embedding(ds[0], ds[1]), [w.shape(ids, node)], "embedding", data)
    else:
        w.ignored["Gather"] = w.ignored.get("Gather", 0) + 1


def walk_graph(graph: Graph) -> OnnxWalk:
    """Every node of ``graph`` as a record, a free op or an uncounted op."""
    return _Walker(graph).run()
