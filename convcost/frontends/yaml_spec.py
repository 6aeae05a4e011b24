"""The YAML model description: load, check and resolve it into a :class:`ModelSpec`.

Loading resolves everything that does not depend on the batch size: variables and expressions,
the width multiplier, the resolution, every layer's input channels (shapes are inferred layer to
layer with the core's shape rules, ``cost_of(op, inputs).output_shape``), names and paths. Any
bad input -- YAML syntax, unknown keys, sizes, shapes that do not fit -- is a
:class:`~convcost.frontends.yaml_nodes.SpecError` (an ``InputError``) whose message reads
``file:line:col: key.path: message``. The format is documented in ``docs/yaml.md``.

This module never imports torch.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from convcost.core.dtypes import DType
from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Dropout,
    Elementwise,
    Flatten,
    GlobalPool,
    Linear,
    Op,
    Pool,
    PoolMode,
    Shape,
)
from convcost.core.registry import cost_of
from convcost.errors import Context, ConvcostError, InputError
from convcost.frontends.yaml_expr import ExprError, Number, evaluate, names_in
from convcost.frontends.yaml_nodes import (
    Pos,
    SpecError,
    YMap,
    YNode,
    YScalar,
    YSeq,
    describe,
    error,
    read_yaml,
)

__all__ = [
    "KINDS",
    "GroupNode",
    "LayerNode",
    "ModelSpec",
    "ParallelNode",
    "SpecError",
    "SpecNode",
    "load_spec",
    "parse_spec",
]

# ---------------------------------------------------------------- the resolved spec


@dataclass(frozen=True)
class LayerNode:
    """One layer: becomes exactly one LayerRecord and one leaf torch module."""

    name: str
    op: Op
    origin: Context
    in_shape: Shape
    """Input shape without the batch dimension (as inferred at load time)."""


@dataclass(frozen=True)
class GroupNode:
    """A named sequence: a block, a repetition, or a layer that expands into several."""

    name: str
    children: tuple[SpecNode, ...]
    origin: Context


@dataclass(frozen=True)
class ParallelNode:
    """Branches fed by one input, joined by ``join`` (add or concat), then ``after``.

    A branch with no children is the identity (a residual without a projection shortcut).
    """

    name: str
    branches: tuple[GroupNode, ...]
    join: LayerNode
    after: tuple[LayerNode, ...]
    origin: Context


SpecNode = LayerNode | GroupNode | ParallelNode


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str
    input_shape: Shape
    """Input shape without the batch dimension, e.g. (3, 224, 224)."""
    output_shape: Shape
    dtype: DType
    layers: tuple[SpecNode, ...]
    width_mult: float = 1.0
    resolution: int | None = None
    variables: dict[str, Number] = field(default_factory=dict, hash=False)


# ---------------------------------------------------------------- the format

MAX_REPEAT = 10_000
MAX_LAYERS = 100_000
MAX_SIZE = 10**9
MAX_DEPTH = 64
MAX_VARIABLE_CHAIN = 100

_COMMON = ("name", "repeat")
_CONV_POST = ("norm", "activation")
KINDS: dict[str, tuple[str, ...]] = {
    "conv": (*_COMMON, "out", "kernel", "stride", "padding", "dilation", "groups", "bias",
             "transposed", "output_padding", "scale", *_CONV_POST),
    "depthwise": (*_COMMON, "kernel", "stride", "padding", "dilation", "multiplier", "bias",
                  *_CONV_POST),
    "pointwise": (*_COMMON, "out", "bias", "groups", "scale", *_CONV_POST),
    "separable": (*_COMMON, "out", "kernel", "stride", "padding", "dilation", "multiplier",
                  "groups", "bias", "scale", *_CONV_POST, "dw_norm", "dw_activation"),
    "linear": (*_COMMON, "out", "bias", "scale", "activation"),
    "batchnorm": _COMMON,
    "activation": (*_COMMON, "function"),
    "pool": (*_COMMON, "mode", "kernel", "stride", "padding", "ceil_mode"),
    "global_pool": (*_COMMON, "mode"),
    "adaptive_pool": (*_COMMON, "mode", "size"),
    "flatten": _COMMON,
    "dropout": (*_COMMON, "p"),
    "squeeze_excite": (*_COMMON, "squeeze", "ratio", "reduce", "divisor", "activation", "gate",
                       "bias"),
    "channel_shuffle": (*_COMMON, "groups"),
    "upsample": (*_COMMON, "mode", "scale", "size", "align_corners"),
    "residual": (*_COMMON, "body", "shortcut", "activation"),
    "branches": (*_COMMON, "paths", "join", "activation"),
    "block": (*_COMMON, "layers"),
}
"""Every layer kind and the keys it takes."""

TOP_KEYS = ("name", "description", "input", "variables", "dtype", "width_divisor", "layers")
_SCALAR_SHORTHAND = {"activation": "function", "dropout": "p"}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NONE_WORDS = ("none",)


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def make_divisible(value: float, divisor: int) -> int:
    """torchvision's rounding of scaled channel counts (divisor 1: round half up, >= 1)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


# ---------------------------------------------------------------- compiler


@dataclass
class _Opts:
    """A layer's options, with the key path and the position of everything."""

    kind: str
    values: dict[str, YNode]
    key_pos: dict[str, Pos]
    key: str
    """Key path of the options mapping (e.g. ``layers[3].conv``)."""
    pos: Pos
    """Where the layer's kind is written."""
    used: set[str] = field(default_factory=set)

    def has(self, k: str) -> bool:
        return k in self.values

    def sub(self, k: str) -> str:
        return f"{self.key}.{k}"

    def where(self, k: str) -> Pos:
        node = self.values.get(k)
        return node.pos if node is not None else self.pos


class _Compiler:
    def __init__(self, file: str, width_mult: float, divisor: int) -> None:
        self.file = file
        self.width_mult = width_mult
        self.divisor = divisor
        self.variables: dict[str, Number] = {}
        self.count = 0

    # ------------------------------------------------------------ helpers

    def err(self, pos: Pos | None, key: str, message: str) -> SpecError:
        return error(self.file, pos, key, message)

    def ctx(self, pos: Pos, key: str, layer: str | None = None) -> Context:
        return Context(file=self.file, line=pos.line, col=pos.col, key=key, layer=layer)

    def wrap(self, exc: ConvcostError, pos: Pos, key: str) -> ConvcostError:
        return exc.within(file=self.file, line=pos.line, col=pos.col, key=key)

    def number(self, node: YNode, key: str, in_ch: int | None) -> tuple[Number, bool]:
        """A number or an expression; also whether it used the name ``in``."""
        if not isinstance(node, YScalar) or isinstance(node.value, bool) or node.value is None:
            raise self.err(node.pos, key, f"expected a number or an expression, got "
                           f"{describe(node)}")
        v = node.value
        if isinstance(v, int | float):
            if isinstance(v, float) and not math.isfinite(v):
                raise self.err(node.pos, key, f"{v} is not a finite number")
            return v, False
        try:
            used_in = "in" in names_in(v)

            def lookup(name: str) -> Number:
                if name == "in" and in_ch is not None:
                    return in_ch
                if name in self.variables:
                    return self.variables[name]
                options = [*self.variables, *(["in"] if in_ch is not None else [])]
                raise ExprError(f"undefined variable {name!r}{_suggest(name, options)}")

            return evaluate(v, lookup), used_in
        except ExprError as exc:
            raise self.err(node.pos, key, str(exc)) from None

    def integer(self, node: YNode, key: str, what: str, *, minimum: int = 1,
                in_ch: int | None = None) -> int:
        v, _ = self.number(node, key, in_ch)
        return self.check_int(v, node.pos, key, what, minimum)

    def check_int(self, v: Number, pos: Pos, key: str, what: str, minimum: int) -> int:
        if isinstance(v, float):
            if not v.is_integer():
                raise self.err(pos, key, f"{what} must be an integer, got {v}")
            v = int(v)
        if v < minimum:
            raise self.err(pos, key, f"{what} must be >= {minimum}, got {v}")
        if v > MAX_SIZE:
            raise self.err(pos, key, f"{what} {v} is too large (limit {MAX_SIZE})")
        return v

    def ints(self, node: YNode, key: str, dims: int, what: str, *, minimum: int = 1,
             in_ch: int | None = None) -> tuple[int, ...]:
        if isinstance(node, YSeq):
            if len(node.items) != dims:
                raise self.err(node.pos, key, f"{what} needs {dims} value(s) for a "
                               f"{dims}-D input, got {len(node.items)}")
            return tuple(
                self.integer(n, f"{key}[{i}]", what, minimum=minimum, in_ch=in_ch)
                for i, n in enumerate(node.items)
            )
        return (self.integer(node, key, what, minimum=minimum, in_ch=in_ch),) * dims

    def boolean(self, o: _Opts, k: str, default: bool) -> bool:
        node = o.values.get(k)
        if node is None:
            return default
        if not isinstance(node, YScalar) or not isinstance(node.value, bool):
            raise self.err(node.pos, o.sub(k), f"expected true or false, got {describe(node)}")
        return node.value

    def word(self, o: _Opts, k: str, choices: Iterable[str], default: str) -> str:
        node = o.values.get(k)
        if node is None:
            return default
        allowed = list(choices)
        if isinstance(node, YScalar) and (node.value is None or node.value is False):
            value = "none"
        elif isinstance(node, YScalar) and isinstance(node.value, str):
            value = node.value.strip().lower()
        else:
            raise self.err(node.pos, o.sub(k), f"expected one of {', '.join(allowed)}, got "
                           f"{describe(node)}")
        if value not in allowed and _ALIASES.get(value) in allowed:
            value = _ALIASES[value]
        if value not in allowed:
            raise self.err(node.pos, o.sub(k), f"unknown value {value!r}; use one of "
                           f"{', '.join(allowed)}{_suggest(value, allowed)}")
        return value

    def channels(self, o: _Opts, in_ch: int, *, scale_default: bool) -> int:
        """``out``: scaled by the width multiplier unless it uses ``in`` or ``scale: false``."""
        node = o.values.get("out")
        if node is None:
            raise self.err(o.pos, o.key, f"{o.kind} needs 'out' (output channels)")
        v, used_in = self.number(node, o.sub("out"), in_ch)
        c = self.check_int(v, node.pos, o.sub("out"), "out channels", 1)
        snode = o.values.get("scale")
        if isinstance(snode, YScalar) and isinstance(snode.value, str):
            if snode.value.strip().lower() != "up":
                raise self.err(snode.pos, o.sub("scale"), "expected true, false or up, got "
                               f"{describe(snode)}")
            mult = max(1.0, self.width_mult)  # torchvision's last conv: widened, never narrowed
            scale = True
        else:
            mult = self.width_mult
            scale = self.boolean(o, "scale", scale_default)
        if scale and not used_in and (mult != 1.0 or self.divisor != 1):
            c = make_divisible(c * mult, self.divisor)
        return self.check_int(c, node.pos, o.sub("out"), "out channels", 1)

    def padding(self, o: _Opts, dims: int, kernel: tuple[int, ...], dilation: tuple[int, ...],
                in_ch: int) -> int | tuple[int, ...] | str:
        node = o.values.get("padding")
        if node is None or (isinstance(node, YScalar) and isinstance(node.value, str)
                            and node.value.strip().lower() == "auto"):
            return tuple((k - 1) // 2 * d for k, d in zip(kernel, dilation, strict=True))
        if isinstance(node, YScalar) and isinstance(node.value, str) and \
                node.value.strip().lower() in ("same", "valid"):
            return node.value.strip().lower()
        return self.ints(node, o.sub("padding"), dims, "padding", minimum=0, in_ch=in_ch)

    # ------------------------------------------------------------ layers

    def leaf(self, name: str, op_factory: Callable[[], Op], shape: Shape, pos: Pos, key: str,
             kernel_at: _Opts | None = None) -> tuple[LayerNode, Shape]:
        self.count += 1
        if self.count > MAX_LAYERS:
            raise self.err(pos, key, f"more than {MAX_LAYERS} layers")
        try:
            op = op_factory()
            out = cost_of(op, [(1, *shape)]).output_shape[1:]
        except ConvcostError as exc:
            if kernel_at is not None and kernel_at.has("kernel") and \
                    exc.message.startswith("kernel"):
                pos, key = kernel_at.where("kernel"), kernel_at.sub("kernel")
            raise self.wrap(exc, pos, key) from None
        return LayerNode(name, op, self.ctx(pos, key, name), shape), out

    def layer_list(self, node: YNode | None, key: str, shape: Shape, *, allow_empty: bool,
                   pos: Pos) -> tuple[tuple[SpecNode, ...], Shape]:
        if node is None or (isinstance(node, YScalar) and node.value is None):
            if allow_empty:
                return (), shape
            raise self.err(pos, key, "expected a list of layers")
        if not isinstance(node, YSeq):
            raise self.err(node.pos, key, f"expected a list of layers, got {describe(node)}")
        if not node.items and not allow_empty:
            raise self.err(node.pos, key, "the list of layers is empty")
        if key.count("[") > MAX_DEPTH:
            raise self.err(node.pos, key, f"layers nested more than {MAX_DEPTH} deep")
        items = [self.split(item, f"{key}[{i}]") for i, item in enumerate(node.items)]
        # explicit names first, so auto names never take them
        taken: dict[str, str] = {}
        for o in items:
            if o.has("name"):
                n = self.name(o)
                if n in taken:
                    raise self.err(o.where("name"), o.sub("name"),
                                   f"duplicate layer name {n!r} (also at {taken[n]})")
                taken[n] = o.sub("name")
        counters: dict[str, int] = {}
        out_nodes: list[SpecNode] = []
        for o in items:
            if o.has("name"):
                n = self.name(o)
            else:
                while True:
                    counters[o.kind] = counters.get(o.kind, 0) + 1
                    n = f"{o.kind}{counters[o.kind]}"
                    if n not in taken:
                        break
                taken[n] = o.key
            spec_node, shape = self.repeated(o, n, shape)
            out_nodes.append(spec_node)
        return tuple(out_nodes), shape

    def name(self, o: _Opts) -> str:
        node = o.values["name"]
        if not isinstance(node, YScalar) or not isinstance(node.value, str) or \
                not _NAME.match(node.value):
            raise self.err(node.pos, o.sub("name"), "a name is letters, digits, '_' and '-' "
                           f"(no dots or spaces), got {describe(node)}")
        return node.value

    def split(self, item: YNode, key: str) -> _Opts:
        """A list item -> (kind, options)."""
        if isinstance(item, YScalar) and isinstance(item.value, str):
            kind = item.value.strip()
            self.check_kind(kind, item.pos, key)
            return _Opts(kind, {}, {}, f"{key}.{kind}", item.pos)
        if not isinstance(item, YMap) or not item.items:
            raise self.err(item.pos, key, "a layer is a mapping with one key, its kind "
                           f"(e.g. '- conv: {{out: 32, kernel: 3}}'), got {describe(item)}")
        keys = list(item.items)
        if len(keys) > 1:
            kinds = [k for k in keys if k in KINDS]
            if len(kinds) == 1:
                extra = next(k for k in keys if k not in KINDS)
                raise self.err(item.key_pos[extra], f"{key}.{extra}", f"{extra!r} must be "
                               f"indented under {kinds[0]!r} (a layer is one key, its kind)")
            raise self.err(item.pos, key, "a layer is a mapping with one key, its kind; got "
                           f"keys {', '.join(map(repr, keys))}")
        kind = keys[0]
        kpos = item.key_pos[kind]
        self.check_kind(kind, kpos, f"{key}.{kind}")
        sub = f"{key}.{kind}"
        value = item.items[kind]
        if isinstance(value, YScalar):
            if value.value is None:
                return _Opts(kind, {}, {}, sub, kpos)
            if kind in _SCALAR_SHORTHAND:
                short = _SCALAR_SHORTHAND[kind]
                return _Opts(kind, {short: value}, {short: value.pos}, sub, kpos)
        if kind == "block" and isinstance(value, YSeq):
            return _Opts(kind, {"layers": value}, {"layers": value.pos}, sub, kpos)
        if not isinstance(value, YMap):
            raise self.err(value.pos, sub, f"the options of {kind!r} must be a mapping, got "
                           f"{describe(value)}")
        allowed = KINDS[kind]
        for k in value.items:
            if k not in allowed:
                raise self.err(value.key_pos[k], f"{sub}.{k}", f"unknown key {k!r} for "
                               f"{kind}{_suggest(k, allowed)} (allowed: {', '.join(allowed)})")
        return _Opts(kind, dict(value.items), dict(value.key_pos), sub, kpos)

    def check_kind(self, kind: str, pos: Pos, key: str) -> None:
        if kind not in KINDS:
            raise self.err(pos, key, f"unknown layer kind {kind!r}{_suggest(kind, KINDS)} "
                           f"(kinds: {', '.join(KINDS)})")

    def repeated(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        node = o.values.get("repeat")
        times = 1
        if node is not None:
            times = self.integer(node, o.sub("repeat"), "repeat")
            if times > MAX_REPEAT:
                raise self.err(node.pos, o.sub("repeat"), f"repeat {times} is larger than "
                               f"{MAX_REPEAT}")
        if node is None:
            return self.one(o, name, shape)
        children: list[SpecNode] = []
        for r in range(times):
            child, shape = self.one(o, str(r), shape)
            children.append(child)
        return GroupNode(name, tuple(children), self.ctx(o.pos, o.key, name)), shape

    def one(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        build = getattr(self, "k_" + o.kind)
        result: tuple[SpecNode, Shape] = build(o, name, shape)
        return result

    def spatial(self, o: _Opts, shape: Shape) -> int:
        dims = len(shape) - 1
        if dims not in (1, 2, 3):
            raise self.err(o.pos, o.key, f"{o.kind} needs an input with 1, 2 or 3 spatial "
                           f"dimensions, got shape {list(shape)}")
        return dims

    def post(self, o: _Opts, name: str, main: LayerNode, out: Shape, *, inner: str,
             norm_default: str = "none", act_default: str = "none") -> tuple[SpecNode, Shape]:
        """A conv/linear with optional ``norm`` and ``activation`` -> a group of 1-3 layers."""
        norm = self.word(o, "norm", ("batch", "none"), norm_default) \
            if "norm" in KINDS[o.kind] else "none"
        act = self.word(o, "activation", _ACTS, act_default)
        if norm == "none" and act == "none":
            return main, out
        nodes: list[SpecNode] = [LayerNode(inner, main.op, main.origin, main.in_shape)]
        if norm == "batch":
            bn, out = self.leaf("bn", lambda: BatchNorm(out[0]), out, o.where("norm"),
                                o.sub("norm"))
            nodes.append(bn)
        if act != "none":
            fn = ActivationFn(act)
            a, out = self.leaf("act", lambda: Activation(fn), out, o.where("activation"),
                               o.sub("activation"))
            nodes.append(a)
        return GroupNode(name, tuple(nodes), main.origin), out

    # ------------------------------------------------------------ kinds

    def conv_common(self, o: _Opts, shape: Shape, kernel_default: int | None,
                    ) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...],
                               int | tuple[int, ...] | str]:
        dims = self.spatial(o, shape)
        in_ch = shape[0]
        knode = o.values.get("kernel")
        if knode is None:
            if kernel_default is None:
                raise self.err(o.pos, o.key, f"{o.kind} needs 'kernel'")
            kernel = (kernel_default,) * dims
        else:
            kernel = self.ints(knode, o.sub("kernel"), dims, "kernel", in_ch=in_ch)
        stride = self.ints(o.values["stride"], o.sub("stride"), dims, "stride", in_ch=in_ch) \
            if o.has("stride") else (1,) * dims
        dilation = self.ints(o.values["dilation"], o.sub("dilation"), dims, "dilation",
                             in_ch=in_ch) if o.has("dilation") else (1,) * dims
        padding = self.padding(o, dims, kernel, dilation, in_ch)
        return dims, kernel, stride, dilation, padding

    def k_conv(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims, kernel, stride, dilation, padding = self.conv_common(o, shape, None)
        in_ch = shape[0]
        out_ch = self.channels(o, in_ch, scale_default=True)
        groups = self.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
            if o.has("groups") else 1
        transposed = self.boolean(o, "transposed", False)
        out_pad: int | tuple[int, ...] = 0
        if o.has("output_padding"):
            if not transposed:
                raise self.err(o.where("output_padding"), o.sub("output_padding"),
                               "output_padding needs 'transposed: true'")
            out_pad = self.ints(o.values["output_padding"], o.sub("output_padding"), dims,
                                "output_padding", minimum=0, in_ch=in_ch)
        bias = self.boolean(o, "bias", False)

        def make() -> Op:
            return Conv.make(in_ch, out_ch, kernel, dims=dims, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, bias=bias,
                             transposed=transposed, output_padding=out_pad)

        main, out = self.leaf(name, make, shape, o.pos, o.key, o)
        return self.post(o, name, main, out, inner="conv")

    def k_depthwise(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims, kernel, stride, dilation, padding = self.conv_common(o, shape, 3)
        in_ch = shape[0]
        mult = self.integer(o.values["multiplier"], o.sub("multiplier"), "multiplier",
                            in_ch=in_ch) if o.has("multiplier") else 1
        bias = self.boolean(o, "bias", False)

        def make() -> Op:
            return Conv.make(in_ch, in_ch * mult, kernel, dims=dims, stride=stride,
                             padding=padding, dilation=dilation, groups=in_ch, bias=bias)

        main, out = self.leaf(name, make, shape, o.pos, o.key, o)
        return self.post(o, name, main, out, inner="conv")

    def k_pointwise(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims = self.spatial(o, shape)
        in_ch = shape[0]
        out_ch = self.channels(o, in_ch, scale_default=True)
        groups = self.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
            if o.has("groups") else 1
        bias = self.boolean(o, "bias", False)

        def make() -> Op:
            return Conv.make(in_ch, out_ch, 1, dims=dims, groups=groups, bias=bias)

        main, out = self.leaf(name, make, shape, o.pos, o.key, o)
        return self.post(o, name, main, out, inner="conv")

    def k_separable(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims, kernel, stride, dilation, padding = self.conv_common(o, shape, 3)
        in_ch = shape[0]
        mult = self.integer(o.values["multiplier"], o.sub("multiplier"), "multiplier",
                            in_ch=in_ch) if o.has("multiplier") else 1
        out_ch = self.channels(o, in_ch, scale_default=True)
        bias = self.boolean(o, "bias", False)
        norm = self.word(o, "norm", ("batch", "none"), "batch")
        act = self.word(o, "activation", _ACTS, "relu")
        dw_norm = self.word(o, "dw_norm", ("batch", "none"), norm)
        dw_act = self.word(o, "dw_activation", _ACTS, act)
        mid = in_ch * mult
        nodes: list[SpecNode] = []

        def dw_op() -> Op:
            return Conv.make(in_ch, mid, kernel, dims=dims, stride=stride, padding=padding,
                             dilation=dilation, groups=in_ch, bias=bias)

        groups = self.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
            if o.has("groups") else 1

        def pw_op() -> Op:
            return Conv.make(mid, out_ch, 1, dims=dims, groups=groups, bias=bias)

        def norm_act(prefix: str, n: str, a: str, nkey: str, akey: str, s: Shape) -> Shape:
            if n == "batch":
                bn, s = self.leaf(f"{prefix}_bn", lambda: BatchNorm(s[0]), s, o.where(nkey),
                                  o.sub(nkey))
                nodes.append(bn)
            if a != "none":
                fn = ActivationFn(a)
                act_node, s = self.leaf(f"{prefix}_act", lambda: Activation(fn), s,
                                        o.where(akey), o.sub(akey))
                nodes.append(act_node)
            return s

        dw, s = self.leaf("dw", dw_op, shape, o.pos, o.key, o)
        nodes.append(dw)
        s = norm_act("dw", dw_norm, dw_act, "dw_norm" if o.has("dw_norm") else "norm",
                     "dw_activation" if o.has("dw_activation") else "activation", s)
        pw, s = self.leaf("pw", pw_op, s, o.where("out"), o.sub("out"))
        nodes.append(pw)
        s = norm_act("pw", norm, act, "norm", "activation", s)
        return GroupNode(name, tuple(nodes), self.ctx(o.pos, o.key, name)), s

    def k_linear(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        in_f = shape[-1]
        out_f = self.channels(o, in_f, scale_default=False)
        bias = self.boolean(o, "bias", True)
        main, out = self.leaf(name, lambda: Linear(in_f, out_f, bias), shape, o.pos, o.key)
        return self.post(o, name, main, out, inner="linear")

    def k_batchnorm(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        return self.leaf(name, lambda: BatchNorm(shape[0]), shape, o.pos, o.key)

    def k_activation(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        fn = ActivationFn(self.word(o, "function", [a for a in _ACTS if a != "none"], "relu"))
        return self.leaf(name, lambda: Activation(fn), shape, o.pos, o.key)

    def k_pool(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims = self.spatial(o, shape)
        mode = self.word(o, "mode", ("max", "avg"), "max")
        if not o.has("kernel"):
            raise self.err(o.pos, o.key, "pool needs 'kernel'")
        kernel = self.ints(o.values["kernel"], o.sub("kernel"), dims, "kernel")
        stride = self.ints(o.values["stride"], o.sub("stride"), dims, "stride") \
            if o.has("stride") else kernel
        padding = self.ints(o.values["padding"], o.sub("padding"), dims, "padding",
                            minimum=0) if o.has("padding") else (0,) * dims
        ceil = self.boolean(o, "ceil_mode", False)
        return self.leaf(name, lambda: Pool.make(mode, kernel, dims=dims, stride=stride,
                                                 padding=padding, ceil_mode=ceil),
                         shape, o.pos, o.key, o)

    def k_global_pool(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        self.spatial(o, shape)
        mode = PoolMode(self.word(o, "mode", ("avg", "max"), "avg"))
        return self.leaf(name, lambda: GlobalPool(mode), shape, o.pos, o.key)

    def k_adaptive_pool(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        dims = self.spatial(o, shape)
        mode = PoolMode(self.word(o, "mode", ("avg", "max"), "avg"))
        if not o.has("size"):
            raise self.err(o.pos, o.key, "adaptive_pool needs 'size' (output size)")
        size = self.ints(o.values["size"], o.sub("size"), dims, "size")
        return self.leaf(name, lambda: AdaptivePool(mode, size), shape, o.pos, o.key)

    def k_flatten(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        return self.leaf(name, lambda: Flatten(1), shape, o.pos, o.key)

    def k_dropout(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        p = 0.5
        if o.has("p"):
            node = o.values["p"]
            v, _ = self.number(node, o.sub("p"), None)
            if not 0 <= v < 1:
                raise self.err(node.pos, o.sub("p"), f"dropout p must be in [0, 1), got {v}")
            p = float(v)
        return self.leaf(name, lambda: Dropout(p), shape, o.pos, o.key)

    def k_squeeze_excite(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        from convcost.frontends.yaml_blocks import squeeze_excite

        return squeeze_excite(self, o, name, shape)

    def k_channel_shuffle(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        from convcost.frontends.yaml_blocks import channel_shuffle

        return channel_shuffle(self, o, name, shape)

    def k_upsample(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        from convcost.frontends.yaml_blocks import upsample

        return upsample(self, o, name, shape)

    def k_block(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        children, out = self.layer_list(o.values.get("layers"), o.sub("layers"), shape,
                                        allow_empty=False, pos=o.pos)
        return GroupNode(name, children, self.ctx(o.pos, o.key, name)), out

    def k_residual(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        body, out_b = self.layer_list(o.values.get("body"), o.sub("body"), shape,
                                      allow_empty=False, pos=o.pos)
        short, out_s = self.layer_list(o.values.get("shortcut"), o.sub("shortcut"), shape,
                                       allow_empty=True, pos=o.pos)
        if out_b != out_s:
            what = "the shortcut" if short else "the identity shortcut (its input)"
            raise self.err(o.pos, o.key, f"residual add: the body gives {list(out_b)} but "
                           f"{what} gives {list(out_s)}"
                           + ("" if short else "; add a projection 'shortcut'"))
        branches = (
            GroupNode("body", body, self.ctx(o.where("body"), o.sub("body"))),
            GroupNode("shortcut", short, self.ctx(o.where("shortcut"), o.sub("shortcut"))),
        )
        return self.parallel(o, name, branches, (out_b, out_s), Add(), "add")

    def k_branches(self, o: _Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        node = o.values.get("paths")
        if not isinstance(node, YSeq) or len(node.items) < 2:
            raise self.err(node.pos if node else o.pos, o.sub("paths"),
                           "branches needs 'paths': a list of two or more lists of layers")
        join = self.word(o, "join", ("concat", "add", "mul"), "concat")
        groups: list[GroupNode] = []
        outs: list[Shape] = []
        for i, item in enumerate(node.items):
            key = f"{o.sub('paths')}[{i}]"
            children, out = self.layer_list(item, key, shape, allow_empty=True, pos=item.pos)
            groups.append(GroupNode(str(i), children, self.ctx(item.pos, key)))
            outs.append(out)
        for i, out in enumerate(outs[1:], 1):
            if join == "add" and out != outs[0]:
                raise self.err(o.pos, o.key, f"branches add: path {i} gives {list(out)} but "
                               f"path 0 gives {list(outs[0])}")
            if join == "concat" and (len(out) != len(outs[0]) or out[1:] != outs[0][1:]):
                raise self.err(o.pos, o.key, f"branches concat: path {i} gives {list(out)} "
                               f"but path 0 gives {list(outs[0])}; only channels may differ")
        op: Op = Add() if join == "add" else Elementwise("mul") if join == "mul" else Concat()
        return self.parallel(o, name, tuple(groups), tuple(outs), op, join)

    def parallel(self, o: _Opts, name: str, branches: tuple[GroupNode, ...],
                 outs: tuple[Shape, ...], op: Op, join_name: str) -> tuple[SpecNode, Shape]:
        self.count += 1
        try:
            out = cost_of(op, [(1, *s) for s in outs]).output_shape[1:]
        except ConvcostError as exc:
            raise self.wrap(exc, o.pos, o.key) from None
        join = LayerNode(join_name, op, self.ctx(o.pos, o.key, join_name), outs[0])
        after: list[LayerNode] = []
        act = self.word(o, "activation", _ACTS, "none")
        if act != "none":
            fn = ActivationFn(act)
            a, out = self.leaf("act", lambda: Activation(fn), out, o.where("activation"),
                               o.sub("activation"))
            after.append(a)
        return ParallelNode(name, branches, join, tuple(after),
                            self.ctx(o.pos, o.key, name)), out

    # ------------------------------------------------------------ top level

    def resolve_variables(self, node: YNode | None) -> None:
        if node is None or (isinstance(node, YScalar) and node.value is None):
            return
        if not isinstance(node, YMap):
            raise self.err(node.pos, "variables", "variables must be a mapping of name to "
                           f"number or expression, got {describe(node)}")
        for k in node.items:
            if not _VAR.match(k) or k == "in":
                raise self.err(node.key_pos[k], f"variables.{k}", f"bad variable name {k!r}: "
                               "use letters, digits and '_' ('in' is reserved)")
        defs = node.items
        stack: list[str] = []

        def resolve(name: str) -> Number:
            if name in self.variables:
                return self.variables[name]
            value = defs[name]
            key = f"variables.{name}"
            if name in stack:
                cycle = " -> ".join([*stack[stack.index(name):], name])
                raise self.err(value.pos, key, f"circular variable definition: {cycle}")
            stack.append(name)
            if len(stack) > MAX_VARIABLE_CHAIN:
                raise self.err(value.pos, key, "variables refer to each other more than "
                               f"{MAX_VARIABLE_CHAIN} deep")
            if not isinstance(value, YScalar) or isinstance(value.value, bool) or \
                    value.value is None:
                raise self.err(value.pos, key, "a variable is a number or an expression, got "
                               f"{describe(value)}")
            v = value.value
            if isinstance(v, str):
                def lookup(n: str) -> Number:
                    if n not in defs:
                        raise ExprError(f"undefined variable {n!r}{_suggest(n, defs)}")
                    return resolve(n)
                try:
                    result = evaluate(v, lookup)
                except ExprError as exc:
                    raise self.err(value.pos, key, str(exc)) from None
            elif isinstance(v, float) and not math.isfinite(v):
                raise self.err(value.pos, key, f"{v} is not a finite number")
            else:
                result = v
            stack.pop()
            self.variables[name] = result
            return result

        for name in defs:
            resolve(name)


_ACTS = (*(a.value for a in ActivationFn), "none")
_ALIASES = {"swish": "silu", "hswish": "hardswish", "hard_swish": "hardswish",
            "h_swish": "hardswish", "hsigmoid": "hardsigmoid", "hard_sigmoid": "hardsigmoid",
            "h_sigmoid": "hardsigmoid"}
"""Other names for activation functions (TensorFlow's and papers')."""


def _check_top(root: YNode, file: str) -> YMap:
    if not isinstance(root, YMap):
        raise error(file, root.pos, "<document>", "a model file is a mapping with 'name', "
                    f"'input' and 'layers', got {describe(root)}")
    for k in root.items:
        if k not in TOP_KEYS:
            hint = _suggest(k, TOP_KEYS)
            if not hint and k in KINDS:
                hint = "; layers go in a list under 'layers'"
            raise error(file, root.key_pos[k], k, f"unknown top-level key {k!r}{hint} "
                        f"(allowed: {', '.join(TOP_KEYS)})")
    for k in ("input", "layers"):
        if k not in root.items:
            raise error(file, root.pos, "<document>", f"missing required key {k!r}")
    return root


def parse_spec(
    text: str,
    *,
    filename: str = "<string>",
    width_mult: float = 1.0,
    resolution: int | None = None,
) -> ModelSpec:
    """Parse and check a YAML model description; every bad input is an InputError."""
    if isinstance(width_mult, bool) or not isinstance(width_mult, int | float) or \
            not math.isfinite(width_mult) or width_mult <= 0:
        raise InputError(f"width multiplier must be a positive number, got {width_mult!r}",
                         Context(flag="--width-mult"))
    if resolution is not None and (isinstance(resolution, bool) or
                                   not isinstance(resolution, int) or resolution < 1):
        raise InputError(f"resolution must be a positive integer, got {resolution!r}",
                         Context(flag="--resolution"))
    if resolution is not None and resolution > MAX_SIZE:
        raise InputError(f"resolution {resolution:.3g} is too large (limit {MAX_SIZE})",
                         Context(flag="--resolution"))
    root = _check_top(read_yaml(text, filename), filename)
    items = root.items

    divisor = 1
    comp = _Compiler(filename, float(width_mult), divisor)
    comp.resolve_variables(items.get("variables"))
    if "width_divisor" in items:
        comp.divisor = comp.integer(items["width_divisor"], "width_divisor", "width_divisor")

    name = Path(filename).stem if filename and not filename.startswith("<") else "model"
    if "name" in items:
        node = items["name"]
        if not isinstance(node, YScalar) or not isinstance(node.value, str) or \
                not node.value.strip():
            raise error(filename, node.pos, "name", f"name must be a string, got "
                        f"{describe(node)}")
        name = node.value
    for k in ("description",):
        node2 = items.get(k)
        if node2 is not None and not (isinstance(node2, YScalar) and
                                      isinstance(node2.value, str | None)):
            raise error(filename, node2.pos, k, f"{k} must be a string")

    dtype = DType.FLOAT32
    if "dtype" in items:
        node = items["dtype"]
        if not isinstance(node, YScalar) or not isinstance(node.value, str):
            raise error(filename, node.pos, "dtype", f"dtype must be a string, got "
                        f"{describe(node)}")
        try:
            dtype = DType.parse(node.value)
        except InputError as exc:
            raise error(filename, node.pos, "dtype", exc.message) from None

    inode = items["input"]
    if not isinstance(inode, YSeq) or not 2 <= len(inode.items) <= 4:
        raise error(filename, inode.pos, "input", "input is [channels, *spatial] without the "
                    "batch, with 1 to 3 spatial sizes (e.g. [3, 224, 224]), got "
                    f"{describe(inode)}")
    shape = tuple(comp.integer(n, f"input[{i}]", "input size") for i, n in
                  enumerate(inode.items))
    if resolution is not None:
        shape = (shape[0], *(resolution,) * (len(shape) - 1))

    layers, out = comp.layer_list(items["layers"], "layers", shape, allow_empty=False,
                                  pos=root.key_pos["layers"])
    return ModelSpec(
        name=name,
        file=filename,
        input_shape=shape,
        output_shape=out,
        dtype=dtype,
        layers=layers,
        width_mult=float(width_mult),
        resolution=resolution,
        variables=dict(comp.variables),
    )


def load_spec(
    path: str | Path, *, width_mult: float = 1.0, resolution: int | None = None
) -> ModelSpec:
    """Read and check a YAML model description file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"no such file: {p}", Context(file=str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {p}: {exc}", Context(file=str(path))) from None
    return parse_spec(text, filename=str(path), width_mult=width_mult, resolution=resolution)
