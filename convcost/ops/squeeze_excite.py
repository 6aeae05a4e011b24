"""Squeeze and excitation (Hu et al. 2018; MobileNetV3, EfficientNet, RegNet-Y), as
torchvision's ``SqueezeExcitation``: the YAML kind ``squeeze_excite``.

The block is a small graph of core ops, not an op of its own: a parallel node whose one path
squeezes the input to one value per channel and excites it back (global average pool -> 1×1
conv to the squeeze width -> activation -> 1×1 conv back -> gate activation), the other is the
input itself, and the two are joined by an element-wise product. Records:
``name.squeeze.pool``, ``.fc1``, ``.act``, ``.fc2``, ``.gate``, then ``name.mul``. The torch
and ONNX front-ends see the same ops one by one, so the block needs nothing from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from convcost.core.ops import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Conv,
    Elementwise,
    Op,
    PoolMode,
    Shape,
)
from convcost.core.registry import shape_of
from convcost.errors import ConvcostError
from convcost.frontends.yaml_format import (
    ACTIVATION_WORDS,
    GroupNode,
    LayerNode,
    ParallelNode,
    SpecNode,
    make_divisible,
    yaml_kind,
)
from convcost.frontends.yaml_schema import ACTIVATION, BOOLEAN, SIZE, described, one_of_words

if TYPE_CHECKING:
    from convcost.frontends.yaml_compile import Compiler, Opts

_GATES = ("sigmoid", "hardsigmoid", "tanh", "relu6", "identity")


def squeeze_width(c: Compiler, o: Opts, in_ch: int) -> int:
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


@yaml_kind("squeeze_excite", {
    "squeeze": described(SIZE, "squeeze width in channels ('in' = the block's input channels)"),
    "ratio": {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                        {"type": "string"}],
              "description": "squeeze width = input channels x ratio (default 0.25)"},
    "reduce": described(SIZE, "squeeze width = input channels // reduce (at least 1)"),
    "divisor": described(SIZE, "round the squeeze width to a multiple of this (torchvision's "
                               "_make_divisible)"),
    "activation": ACTIVATION,
    "gate": described(one_of_words([*_GATES[:2], "hsigmoid", "hard_sigmoid", "h_sigmoid",
                                    *_GATES[2:]]), "gate activation (default sigmoid)"),
    "bias": described(BOOLEAN, "bias on both 1x1 convs (default true)"),
}, constraints={"not": {"anyOf": [{"required": ["squeeze", "ratio"]},
                                  {"required": ["squeeze", "reduce"]},
                                  {"required": ["ratio", "reduce"]}]}},
   description="squeeze-excite: global average pool, 1x1 conv to the squeeze width, "
               "activation, 1x1 conv back, gate, times the input")
def from_yaml(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
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
