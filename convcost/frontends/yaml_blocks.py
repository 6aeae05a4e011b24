"""YAML kinds of mobile and dense-prediction networks: ``squeeze_excite`` (a small graph),
``channel_shuffle`` and ``upsample``.

A squeeze-excite block (Hu et al. 2018, as torchvision's ``SqueezeExcitation``) is a parallel
node: one path squeezes the input to one value per channel and excites it back
(global average pool -> 1×1 conv to the squeeze width -> activation -> 1×1 conv back -> gate
activation), the other is the input itself, and the two are joined by an element-wise product.
Records: ``name.squeeze.pool``, ``.fc1``, ``.act``, ``.fc2``, ``.gate``, then ``name.mul``.
Never imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from convcost.core.ops import (
    UPSAMPLE_MODES,
    Activation,
    ActivationFn,
    AdaptivePool,
    ChannelShuffle,
    Conv,
    Elementwise,
    Op,
    PoolMode,
    Shape,
    Upsample,
)
from convcost.core.registry import shape_of
from convcost.errors import ConvcostError
from convcost.frontends.yaml_compile import CompilerBase, Opts
from convcost.frontends.yaml_format import (
    ACTIVATION_WORDS,
    MAX_SIZE,
    GroupNode,
    LayerNode,
    ParallelNode,
    SpecNode,
    make_divisible,
)
from convcost.frontends.yaml_nodes import YSeq

_GATES = ("sigmoid", "hardsigmoid", "tanh", "relu6", "identity")


def squeeze_width(c: CompilerBase, o: Opts, in_ch: int) -> int:
    """The squeeze channels: ``squeeze`` (a count), ``reduce`` (in // r, at least 1) or
    ``ratio`` (in × ratio, default 0.25); rounded to a multiple of ``divisor`` as torchvision's
    ``_make_divisible`` when one is given."""
    given = [k for k in ("squeeze", "ratio", "reduce") if o.has(k)]
    if len(given) > 1:
        raise c.err(o.where(given[1]), o.sub(given[1]), f"give one of 'squeeze', 'ratio' or "
                    f"'reduce', not {given[0]!r} and {given[1]!r}")
    divisor = c.integer(o.values["divisor"], o.sub("divisor"), "divisor") \
        if o.has("divisor") else 1
    if o.has("squeeze"):
        width = c.integer(o.values["squeeze"], o.sub("squeeze"), "squeeze channels",
                          in_ch=in_ch)
    elif o.has("reduce"):
        r = c.integer(o.values["reduce"], o.sub("reduce"), "reduce", in_ch=in_ch)
        width = max(1, in_ch // r)
    else:
        ratio: float = 0.25
        if o.has("ratio"):
            node = o.values["ratio"]
            v, _ = c.number(node, o.sub("ratio"), in_ch)
            if not 0 < v <= 1:
                raise c.err(node.pos, o.sub("ratio"), f"ratio must be in (0, 1], got {v}")
            ratio = float(v)
        return make_divisible(in_ch * ratio, divisor)
    return make_divisible(width, divisor) if divisor > 1 else width


def squeeze_excite(c: CompilerBase, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims = c.spatial(o, shape)
    in_ch = shape[0]
    width = squeeze_width(c, o, in_ch)
    act = c.word(o, "activation", ACTIVATION_WORDS, "relu")
    gate = c.word(o, "gate", _GATES, "sigmoid")
    bias = c.boolean(o, "bias", True)
    nodes: list[SpecNode] = []
    s = shape

    def add(part: str, make: Callable[[], Op], key: str) -> None:
        nonlocal s
        node, s = c.leaf(part, make, s, o.where(key), o.sub(key) if o.has(key) else o.key)
        nodes.append(node)

    add("pool", lambda: AdaptivePool(PoolMode.AVG, (1,) * dims), "squeeze")
    width_key = next((k for k in ("squeeze", "reduce", "ratio") if o.has(k)), "squeeze")
    add("fc1", lambda: Conv.make(in_ch, width, 1, dims=dims, bias=bias), width_key)
    if act != "none":
        add("act", lambda: Activation(ActivationFn(act)), "activation")
    add("fc2", lambda: Conv.make(width, in_ch, 1, dims=dims, bias=bias), width_key)
    add("gate", lambda: Activation(ActivationFn(gate)), "gate")
    branches = (
        GroupNode("squeeze", tuple(nodes), c.ctx(o.pos, o.key)),
        GroupNode("x", (), c.ctx(o.pos, o.key)),
    )
    op = Elementwise("mul")
    c.count += 1
    try:
        out = shape_of(op, [(1, *s), (1, *shape)])[1:]
    except ConvcostError as exc:
        raise c.wrap(exc, o.pos, o.key) from None
    join = LayerNode("mul", op, c.ctx(o.pos, o.key, "mul"), s)
    return ParallelNode(name, branches, join, (), c.ctx(o.pos, o.key, name)), out


def channel_shuffle(c: CompilerBase, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    if not o.has("groups"):
        raise c.err(o.pos, o.key, "channel_shuffle needs 'groups'")
    groups = c.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=shape[0])
    return c.leaf(name, lambda: ChannelShuffle(groups), shape, o.where("groups"),
                  o.sub("groups"))


def upsample(c: CompilerBase, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    dims = c.spatial(o, shape)
    mode = c.word(o, "mode", UPSAMPLE_MODES, "nearest")
    if o.has("scale") == o.has("size"):
        raise c.err(o.pos, o.key, "upsample needs one of 'scale' (a factor, or one per "
                    "spatial dimension) and 'size' (the output size)")
    size: tuple[int, ...] = ()
    scale: tuple[float, ...] = ()
    if o.has("size"):
        size = c.ints(o.values["size"], o.sub("size"), dims, "size")
    else:
        node = o.values["scale"]
        items = node.items if isinstance(node, YSeq) else [node]
        if isinstance(node, YSeq) and len(items) not in (1, dims):
            raise c.err(node.pos, o.sub("scale"), f"scale needs 1 or {dims} value(s), "
                        f"got {len(items)}")
        for i, item in enumerate(items):
            key = o.sub("scale") + (f"[{i}]" if isinstance(node, YSeq) else "")
            v, _ = c.number(item, key, shape[0])
            if not 0 < v <= MAX_SIZE:
                raise c.err(item.pos, key, f"scale must be a positive factor, got {v}")
            scale += (float(v),)
    align = c.boolean(o, "align_corners", False) if o.has("align_corners") else None
    if align is None and mode in ("linear", "bilinear", "bicubic", "trilinear"):
        align = False  # torch's default for the interpolating modes
    if scale:  # the output size torch computes, floor(n × s), so records match torch's
        per = scale * dims if len(scale) == 1 else scale
        size = tuple(math.floor(n * f) for n, f in zip(shape[1:], per, strict=True))
        if any(n < 1 for n in size):
            raise c.err(o.where("scale"), o.sub("scale"), f"upsampling {list(shape)} "
                        f"by {list(scale)} leaves no output")
    return c.leaf(name, lambda: Upsample(mode, align, size=size), shape, o.pos, o.key)
