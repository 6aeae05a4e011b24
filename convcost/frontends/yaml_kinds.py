"""The YAML format's own layer kinds: the convolutions, linear, normalisation, activation,
pooling, flatten and dropout layers, and the structures (block, residual, branches). The op
modules of convcost.ops register theirs beside these."""

from __future__ import annotations

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
from convcost.frontends.yaml_compile import (
    Compiler,
    Opts,
)
from convcost.frontends.yaml_format import (
    ACTIVATION_WORDS,
    GroupNode,
    LayerNode,
    SpecNode,
    yaml_kind,
)
from convcost.frontends.yaml_nodes import (
    YSeq,
)
from convcost.frontends.yaml_schema import (
    ACTIVATION,
    BOOLEAN,
    DILATION,
    FUNCTIONS,
    KERNEL,
    LAYERS,
    NORM,
    OUT,
    PADDING,
    POOL_MODE,
    SCALE,
    SIZE,
    SIZES,
    STRIDE,
    described,
    one_of_words,
)


def _post(c: Compiler, o: Opts, name: str, main: LayerNode, out: Shape, *, inner: str,
         norm_default: str = "none", act_default: str = "none") -> tuple[SpecNode, Shape]:
    """A conv/linear with optional ``norm`` and ``activation`` -> a group of 1-3 layers."""
    norm = c.word(o, "norm", ("batch", "none"), norm_default) \
        if "norm" in c.kinds[o.kind].keys else "none"
    act = c.word(o, "activation", ACTIVATION_WORDS, act_default)
    if norm == "none" and act == "none":
        return main, out
    nodes: list[SpecNode] = [LayerNode(inner, main.op, main.origin, main.in_shape)]
    if norm == "batch":
        bn, out = c.leaf("bn", lambda: BatchNorm(out[0]), out, o.where("norm"),
                            o.sub("norm"))
        nodes.append(bn)
    if act != "none":
        fn = ActivationFn(act)
        a, out = c.leaf("act", lambda: Activation(fn), out, o.where("activation"),
                           o.sub("activation"))
        nodes.append(a)
    return GroupNode(name, tuple(nodes), main.origin), out

def _conv_common(c: Compiler, o: Opts, shape: Shape, kernel_default: int | None,
                ) -> tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...],
                           int | tuple[int, ...] | str]:
    dims = c.spatial(o, shape)
    in_ch = shape[0]
    knode = o.values.get("kernel")
    if knode is None:
        if kernel_default is None:
            raise c.err(o.pos, o.key, f"{o.kind} needs 'kernel'")
        kernel = (kernel_default,) * dims
    else:
        kernel = c.ints(knode, o.sub("kernel"), dims, "kernel", in_ch=in_ch)
    stride = c.ints(o.values["stride"], o.sub("stride"), dims, "stride", in_ch=in_ch) \
        if o.has("stride") else (1,) * dims
    dilation = c.ints(o.values["dilation"], o.sub("dilation"), dims, "dilation",
                         in_ch=in_ch) if o.has("dilation") else (1,) * dims
    padding = c.padding(o, dims, kernel, dilation, in_ch)
    return dims, kernel, stride, dilation, padding

@yaml_kind("conv", {
    "out": OUT, "kernel": KERNEL, "stride": STRIDE, "padding": PADDING, "dilation": DILATION,
    "groups": described(SIZE, "groups (default 1)"), "bias": BOOLEAN,
    "transposed": described(BOOLEAN, "transposed convolution"),
    "output_padding": described(SIZES, "transposed convolutions only"),
    "scale": SCALE, "norm": NORM, "activation": ACTIVATION,
}, required=("out", "kernel"))
def conv(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims, kernel, stride, dilation, padding = _conv_common(c, o, shape, None)
    in_ch = shape[0]
    out_ch = c.channels(o, in_ch, scale_default=True)
    groups = c.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
        if o.has("groups") else 1
    transposed = c.boolean(o, "transposed", False)
    out_pad: int | tuple[int, ...] = 0
    if o.has("output_padding"):
        if not transposed:
            raise c.err(o.where("output_padding"), o.sub("output_padding"),
                           "output_padding needs 'transposed: true'")
        out_pad = c.ints(o.values["output_padding"], o.sub("output_padding"), dims,
                            "output_padding", minimum=0, in_ch=in_ch)
    bias = c.boolean(o, "bias", False)

    def make() -> Op:
        return Conv.make(in_ch, out_ch, kernel, dims=dims, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias,
                         transposed=transposed, output_padding=out_pad)

    main, out = c.leaf(name, make, shape, o.pos, o.key, o)
    return _post(c, o, name, main, out, inner="conv")

@yaml_kind("depthwise", {
    "kernel": KERNEL, "stride": STRIDE, "padding": PADDING, "dilation": DILATION,
    "multiplier": described(SIZE, "depth multiplier (default 1)"), "bias": BOOLEAN,
    "norm": NORM, "activation": ACTIVATION,
})
def depthwise(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims, kernel, stride, dilation, padding = _conv_common(c, o, shape, 3)
    in_ch = shape[0]
    mult = c.integer(o.values["multiplier"], o.sub("multiplier"), "multiplier",
                        in_ch=in_ch) if o.has("multiplier") else 1
    bias = c.boolean(o, "bias", False)

    def make() -> Op:
        return Conv.make(in_ch, in_ch * mult, kernel, dims=dims, stride=stride,
                         padding=padding, dilation=dilation, groups=in_ch, bias=bias)

    main, out = c.leaf(name, make, shape, o.pos, o.key, o)
    return _post(c, o, name, main, out, inner="conv")

@yaml_kind("pointwise", {
    "out": OUT, "bias": BOOLEAN, "groups": described(SIZE, "groups (default 1)"), "scale": SCALE,
    "norm": NORM, "activation": ACTIVATION,
}, required=("out",))
def pointwise(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims = c.spatial(o, shape)
    in_ch = shape[0]
    out_ch = c.channels(o, in_ch, scale_default=True)
    groups = c.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
        if o.has("groups") else 1
    bias = c.boolean(o, "bias", False)

    def make() -> Op:
        return Conv.make(in_ch, out_ch, 1, dims=dims, groups=groups, bias=bias)

    main, out = c.leaf(name, make, shape, o.pos, o.key, o)
    return _post(c, o, name, main, out, inner="conv")

@yaml_kind("separable", {
    "out": OUT, "kernel": KERNEL, "stride": STRIDE, "padding": PADDING, "dilation": DILATION,
    "multiplier": described(SIZE, "depth multiplier (default 1)"),
    "groups": described(SIZE, "groups of the pointwise half (default 1; ShuffleNet's grouped "
                              "1x1)"),
    "bias": BOOLEAN, "scale": SCALE, "norm": NORM, "activation": ACTIVATION,
    "dw_norm": one_of_words(["batch"], "norm between depthwise and pointwise (default: norm)",
                            none=True),
    "dw_activation": one_of_words(FUNCTIONS, "activation between depthwise and pointwise "
                                             "(default: activation)", none=True),
}, required=("out",))
def separable(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims, kernel, stride, dilation, padding = _conv_common(c, o, shape, 3)
    in_ch = shape[0]
    mult = c.integer(o.values["multiplier"], o.sub("multiplier"), "multiplier",
                        in_ch=in_ch) if o.has("multiplier") else 1
    out_ch = c.channels(o, in_ch, scale_default=True)
    bias = c.boolean(o, "bias", False)
    norm = c.word(o, "norm", ("batch", "none"), "batch")
    act = c.word(o, "activation", ACTIVATION_WORDS, "relu")
    dw_norm = c.word(o, "dw_norm", ("batch", "none"), norm)
    dw_act = c.word(o, "dw_activation", ACTIVATION_WORDS, act)
    mid = in_ch * mult
    nodes: list[SpecNode] = []

    def dw_op() -> Op:
        return Conv.make(in_ch, mid, kernel, dims=dims, stride=stride, padding=padding,
                         dilation=dilation, groups=in_ch, bias=bias)

    groups = c.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=in_ch) \
        if o.has("groups") else 1

    def pw_op() -> Op:
        return Conv.make(mid, out_ch, 1, dims=dims, groups=groups, bias=bias)

    def norm_act(prefix: str, n: str, a: str, nkey: str, akey: str, s: Shape) -> Shape:
        if n == "batch":
            bn, s = c.leaf(f"{prefix}_bn", lambda: BatchNorm(s[0]), s, o.where(nkey),
                              o.sub(nkey))
            nodes.append(bn)
        if a != "none":
            fn = ActivationFn(a)
            act_node, s = c.leaf(f"{prefix}_act", lambda: Activation(fn), s,
                                    o.where(akey), o.sub(akey))
            nodes.append(act_node)
        return s

    dw, s = c.leaf("dw", dw_op, shape, o.pos, o.key, o)
    nodes.append(dw)
    s = norm_act("dw", dw_norm, dw_act, "dw_norm" if o.has("dw_norm") else "norm",
                 "dw_activation" if o.has("dw_activation") else "activation", s)
    pw, s = c.leaf("pw", pw_op, s, o.where("out"), o.sub("out"))
    nodes.append(pw)
    s = norm_act("pw", norm, act, "norm", "activation", s)
    return GroupNode(name, tuple(nodes), c.ctx(o.pos, o.key, name)), s

@yaml_kind("linear", {"out": OUT, "bias": BOOLEAN, "scale": SCALE, "activation": ACTIVATION},
           required=("out",))
def linear(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    in_f = shape[-1]
    out_f = c.channels(o, in_f, scale_default=False)
    bias = c.boolean(o, "bias", True)
    main, out = c.leaf(name, lambda: Linear(in_f, out_f, bias), shape, o.pos, o.key)
    return _post(c, o, name, main, out, inner="linear")

@yaml_kind("batchnorm")
def batchnorm(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    return c.leaf(name, lambda: BatchNorm(shape[0]), shape, o.pos, o.key)

@yaml_kind("activation", {"function": one_of_words(FUNCTIONS)}, shorthand="function")
def activation(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    words = [a for a in ACTIVATION_WORDS if a != "none"]
    fn = ActivationFn(c.word(o, "function", words, "relu"))
    return c.leaf(name, lambda: Activation(fn), shape, o.pos, o.key)

@yaml_kind("pool", {"mode": POOL_MODE, "kernel": KERNEL, "stride": STRIDE, "padding": PADDING,
                   "ceil_mode": BOOLEAN}, required=("kernel",))
def pool(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims = c.spatial(o, shape)
    mode = c.word(o, "mode", ("max", "avg"), "max")
    if not o.has("kernel"):
        raise c.err(o.pos, o.key, "pool needs 'kernel'")
    kernel = c.ints(o.values["kernel"], o.sub("kernel"), dims, "kernel")
    stride = c.ints(o.values["stride"], o.sub("stride"), dims, "stride") \
        if o.has("stride") else kernel
    padding = c.ints(o.values["padding"], o.sub("padding"), dims, "padding",
                        minimum=0) if o.has("padding") else (0,) * dims
    ceil = c.boolean(o, "ceil_mode", False)
    return c.leaf(name, lambda: Pool.make(mode, kernel, dims=dims, stride=stride,
                                             padding=padding, ceil_mode=ceil),
                     shape, o.pos, o.key, o)

@yaml_kind("global_pool", {"mode": POOL_MODE})
def global_pool(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    c.spatial(o, shape)
    mode = PoolMode(c.word(o, "mode", ("avg", "max"), "avg"))
    return c.leaf(name, lambda: GlobalPool(mode), shape, o.pos, o.key)

@yaml_kind("adaptive_pool", {
    "mode": POOL_MODE, "size": described(SIZES, "output size of the adaptive pool"),
}, required=("size",))
def adaptive_pool(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims = c.spatial(o, shape)
    mode = PoolMode(c.word(o, "mode", ("avg", "max"), "avg"))
    if not o.has("size"):
        raise c.err(o.pos, o.key, "adaptive_pool needs 'size' (output size)")
    size = c.ints(o.values["size"], o.sub("size"), dims, "size")
    return c.leaf(name, lambda: AdaptivePool(mode, size), shape, o.pos, o.key)

@yaml_kind("flatten")
def flatten(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    return c.leaf(name, lambda: Flatten(1), shape, o.pos, o.key)

@yaml_kind("dropout", {
    "p": {"anyOf": [{"type": "number", "minimum": 0, "exclusiveMaximum": 1}, {"type": "string"}]},
}, shorthand="p")
def dropout(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    p = 0.5
    if o.has("p"):
        node = o.values["p"]
        v, _ = c.number(node, o.sub("p"), None)
        if not 0 <= v < 1:
            raise c.err(node.pos, o.sub("p"), f"dropout p must be in [0, 1), got {v}")
        p = float(v)
    return c.leaf(name, lambda: Dropout(p), shape, o.pos, o.key)

@yaml_kind("residual", {
    "body": LAYERS,
    "shortcut": {"anyOf": [LAYERS, {"type": "null"}],
                 "description": "projection; absent = identity"},
    "activation": ACTIVATION,
}, required=("body",), structure=True)
def residual(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    body, out_b = c.layer_list(o.values.get("body"), o.sub("body"), shape,
                                  allow_empty=False, pos=o.pos)
    short, out_s = c.layer_list(o.values.get("shortcut"), o.sub("shortcut"), shape,
                                   allow_empty=True, pos=o.pos)
    if out_b != out_s:
        what = "the shortcut" if short else "the identity shortcut (its input)"
        raise c.err(o.pos, o.key, f"residual add: the body gives {list(out_b)} but "
                       f"{what} gives {list(out_s)}"
                       + ("" if short else "; add a projection 'shortcut'"))
    branches = (
        GroupNode("body", body, c.ctx(o.where("body"), o.sub("body"))),
        GroupNode("shortcut", short, c.ctx(o.where("shortcut"), o.sub("shortcut"))),
    )
    return c.parallel(o, name, branches, (out_b, out_s), Add(), "add")

@yaml_kind("branches", {
    "paths": {"type": "array", "minItems": 2,
              "items": {"anyOf": [LAYERS, {"type": "array", "maxItems": 0}]}},
    "join": one_of_words(["concat", "add", "mul"], "concat on channels (default), add, or mul: "
                         "an element-wise product, broadcast (a gate of shape [C, 1, 1] times a "
                         "feature map)"),
    "activation": ACTIVATION,
}, required=("paths",), structure=True)
def branches(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    node = o.values.get("paths")
    if not isinstance(node, YSeq) or len(node.items) < 2:
        raise c.err(node.pos if node else o.pos, o.sub("paths"),
                       "branches needs 'paths': a list of two or more lists of layers")
    join = c.word(o, "join", ("concat", "add", "mul"), "concat")
    groups: list[GroupNode] = []
    outs: list[Shape] = []
    for i, item in enumerate(node.items):
        key = f"{o.sub('paths')}[{i}]"
        children, out = c.layer_list(item, key, shape, allow_empty=True, pos=item.pos)
        groups.append(GroupNode(str(i), children, c.ctx(item.pos, key)))
        outs.append(out)
    for i, out in enumerate(outs[1:], 1):
        if join == "add" and out != outs[0]:
            raise c.err(o.pos, o.key, f"branches add: path {i} gives {list(out)} but "
                           f"path 0 gives {list(outs[0])}")
        if join == "concat" and (len(out) != len(outs[0]) or out[1:] != outs[0][1:]):
            raise c.err(o.pos, o.key, f"branches concat: path {i} gives {list(out)} "
                           f"but path 0 gives {list(outs[0])}; only channels may differ")
    op: Op = Add() if join == "add" else Elementwise("mul") if join == "mul" else Concat()
    return c.parallel(o, name, tuple(groups), tuple(outs), op, join)


@yaml_kind("block", {"layers": LAYERS}, required=("layers",), shorthand="layers",
           structure=True)
def block(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    children, out = c.layer_list(o.values.get("layers"), o.sub("layers"), shape,
                                    allow_empty=False, pos=o.pos)
    return GroupNode(name, children, c.ctx(o.pos, o.key, name)), out
