"""The YAML model description's format and the spec it resolves to: the kinds and their keys
(the one table docs/yaml.md and the JSON Schema are tested against), the limits, and the
resolved node tree (:class:`ModelSpec`). Never imports torch."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from convcost.core.dtypes import DType
from convcost.core.ops import (
    ActivationFn,
    Op,
    Shape,
)
from convcost.errors import Context
from convcost.frontends.yaml_expr import Number

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
SCALAR_SHORTHAND = {"activation": "function", "dropout": "p"}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
VARIABLE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NONE_WORDS = ("none",)


def suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def make_divisible(value: float, divisor: int) -> int:
    """torchvision's rounding of scaled channel counts (divisor 1: round half up, >= 1)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


ACTIVATION_WORDS = (*(a.value for a in ActivationFn), "none")
ACTIVATION_ALIASES = {"swish": "silu", "hswish": "hardswish", "hard_swish": "hardswish",
            "h_swish": "hardswish", "hsigmoid": "hardsigmoid", "hard_sigmoid": "hardsigmoid",
            "h_sigmoid": "hardsigmoid"}
"""Other names for activation functions (TensorFlow's and papers')."""
