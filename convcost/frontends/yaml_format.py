"""The YAML model description's format and the spec it resolves to: the kind registry (the one
table docs/yaml.md and the JSON Schema are tested against; the op modules of convcost.ops
register their kinds in it), the limits, and the resolved node tree (:class:`ModelSpec`).
Never imports torch."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.core.dtypes import DType
from convcost.core.ops import (
    ActivationFn,
    Op,
    Shape,
)
from convcost.errors import Context
from convcost.frontends.yaml_expr import Number
from convcost.registry_table import RegistryError, Table

if TYPE_CHECKING:
    from convcost.frontends.yaml_compile import Compiler, Opts

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

COMMON_KEYS = ("name", "repeat")
"""The keys every kind takes."""

KindCompiler = Callable[["Compiler", "Opts", str, Shape], "tuple[SpecNode, Shape]"]
"""``compile(compiler, options, name, input shape) -> (spec node, output shape)``."""


@dataclass(frozen=True)
class YamlKind:
    """A layer kind of the YAML format: the JSON Schema of each of its options (besides
    ``name`` and ``repeat``; the keys are these, in this order), which must be given, other
    constraints among them, the key a value that is not a mapping sets (``- activation:
    relu6``), and the function that compiles it. The JSON Schema of the format is made from
    these (:mod:`convcost.frontends.yaml_schema`)."""

    name: str
    options: Mapping[str, Any]
    compile: KindCompiler
    required: tuple[str, ...] = ()
    constraints: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    shorthand: str | None = None
    structure: bool = False
    """A kind that holds other layers (``block``, ``residual``, ``branches``): listed last."""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.options)

    @property
    def all_keys(self) -> tuple[str, ...]:
        return (*COMMON_KEYS, *self.options)


def _load() -> None:
    import convcost.frontends.yaml_kinds  # noqa: F401  (the format's own kinds)
    from convcost import catalog

    catalog.load()


_KINDS: Table[str, YamlKind] = Table("a YAML kind", _load)


def yaml_kind(name: str, options: Mapping[str, Any] | None = None, *,
              required: tuple[str, ...] = (), constraints: Mapping[str, Any] | None = None,
              description: str = "", shorthand: str | None = None,
              structure: bool = False) -> Callable[[KindCompiler], KindCompiler]:
    """Register a layer kind of the YAML format; registering a name twice is an error."""
    opts = dict(options or {})

    def register(fn: KindCompiler) -> KindCompiler:
        for key in (*required, *([shorthand] if shorthand else [])):
            if key not in opts:
                raise RegistryError(f"{key!r} of the YAML kind {name!r} is not one of its "
                                    "options")
        _KINDS.add(name, YamlKind(name, opts, fn, required, dict(constraints or {}),
                                  description, shorthand, structure), repr(name))
        return fn

    return register


def kinds() -> dict[str, YamlKind]:
    """Every kind by name: the layers, then the structures, each in alphabetical order (the
    same whichever module registered first)."""
    found = sorted(_KINDS.loaded().values(), key=lambda k: (k.structure, k.name))
    return {k.name: k for k in found}


def kind_keys() -> dict[str, tuple[str, ...]]:
    """Every kind and the keys it takes (``name`` and ``repeat`` included)."""
    return {name: k.all_keys for name, k in kinds().items()}


TOP_KEYS = ("name", "description", "input", "variables", "dtype", "width_divisor", "layers")
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
