"""The YAML compiler's core: reading numbers, words and channel counts from the positioned
nodes, names and repeats, and the layer list; the kinds build on it (yaml_kinds)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from convcost.core.ops import (
    Activation,
    ActivationFn,
    Op,
    Shape,
)
from convcost.core.registry import shape_of
from convcost.errors import Context, ConvcostError
from convcost.frontends.yaml_expr import ExprError, Number, evaluate, names_in
from convcost.frontends.yaml_format import (
    ACTIVATION_ALIASES,
    ACTIVATION_WORDS,
    MAX_DEPTH,
    MAX_LAYERS,
    MAX_REPEAT,
    MAX_SIZE,
    MAX_VARIABLE_CHAIN,
    NAME_PATTERN,
    VARIABLE_PATTERN,
    GroupNode,
    LayerNode,
    ParallelNode,
    SpecNode,
    YamlKind,
    kinds,
    make_divisible,
    suggest,
)
from convcost.frontends.yaml_nodes import (
    Pos,
    SpecError,
    YMap,
    YNode,
    YScalar,
    YSeq,
    describe,
    error,
)


@dataclass
class Opts:
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


def _renamed(node: SpecNode, name: str) -> SpecNode:
    """``node`` under another name (its origin names the layer too)."""
    origin = node.origin
    if origin.layer == node.name:
        origin = replace(origin, layer=name)
    return replace(node, name=name, origin=origin)


class Compiler:
    """Compiles the positioned YAML nodes into the spec tree: the helpers every kind reads its
    options with, names, repeats and layer lists; the kinds themselves are registered
    (:func:`convcost.frontends.yaml_format.yaml_kind`)."""

    def __init__(self, file: str, width_mult: float, divisor: int) -> None:
        self.file = file
        self.width_mult = width_mult
        self.divisor = divisor
        self.variables: dict[str, Number] = {}
        self.count = 0
        self.kinds: dict[str, YamlKind] = kinds()

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
                raise ExprError(f"undefined variable {name!r}{suggest(name, options)}")

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

    def boolean(self, o: Opts, k: str, default: bool) -> bool:
        node = o.values.get(k)
        if node is None:
            return default
        if not isinstance(node, YScalar) or not isinstance(node.value, bool):
            raise self.err(node.pos, o.sub(k), f"expected true or false, got {describe(node)}")
        return node.value

    def word(self, o: Opts, k: str, choices: Iterable[str], default: str) -> str:
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
        if value not in allowed and ACTIVATION_ALIASES.get(value) in allowed:
            value = ACTIVATION_ALIASES[value]
        if value not in allowed:
            raise self.err(node.pos, o.sub(k), f"unknown value {value!r}; use one of "
                           f"{', '.join(allowed)}{suggest(value, allowed)}")
        return value

    def channels(self, o: Opts, in_ch: int, *, scale_default: bool) -> int:
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

    def padding(self, o: Opts, dims: int, kernel: tuple[int, ...], dilation: tuple[int, ...],
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
             kernel_at: Opts | None = None) -> tuple[LayerNode, Shape]:
        self.count += 1
        if self.count > MAX_LAYERS:
            raise self.err(pos, key, f"more than {MAX_LAYERS} layers")
        try:
            op = op_factory()
            out = shape_of(op, [(1, *shape)])[1:]
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

    def name(self, o: Opts) -> str:
        node = o.values["name"]
        if not isinstance(node, YScalar) or not isinstance(node.value, str) or \
                not NAME_PATTERN.match(node.value):
            raise self.err(node.pos, o.sub("name"), "a name is letters, digits, '_' and '-' "
                           f"(no dots or spaces), got {describe(node)}")
        return node.value

    def split(self, item: YNode, key: str) -> Opts:
        """A list item -> (kind, options)."""
        if isinstance(item, YScalar) and isinstance(item.value, str):
            kind = item.value.strip()
            self.check_kind(kind, item.pos, key)
            return Opts(kind, {}, {}, f"{key}.{kind}", item.pos)
        if not isinstance(item, YMap) or not item.items:
            raise self.err(item.pos, key, "a layer is a mapping with one key, its kind "
                           f"(e.g. '- conv: {{out: 32, kernel: 3}}'), got {describe(item)}")
        keys = list(item.items)
        if len(keys) > 1:
            named = [k for k in keys if k in self.kinds]
            if len(named) == 1:
                extra = next(k for k in keys if k not in self.kinds)
                raise self.err(item.key_pos[extra], f"{key}.{extra}", f"{extra!r} must be "
                               f"indented under {named[0]!r} (a layer is one key, its kind)")
            raise self.err(item.pos, key, "a layer is a mapping with one key, its kind; got "
                           f"keys {', '.join(map(repr, keys))}")
        kind = keys[0]
        kpos = item.key_pos[kind]
        self.check_kind(kind, kpos, f"{key}.{kind}")
        sub = f"{key}.{kind}"
        value = item.items[kind]
        if isinstance(value, YScalar) and value.value is None:
            return Opts(kind, {}, {}, sub, kpos)
        short = self.kinds[kind].shorthand
        # the shorthand: a layer's one value (`activation: relu6`), a structure's list of layers
        if short is not None and isinstance(value, YSeq if self.kinds[kind].structure else
                                            YScalar):
            return Opts(kind, {short: value}, {short: value.pos}, sub, kpos)
        if not isinstance(value, YMap):
            raise self.err(value.pos, sub, f"the options of {kind!r} must be a mapping, got "
                           f"{describe(value)}")
        allowed = self.kinds[kind].all_keys
        for k in value.items:
            if k not in allowed:
                raise self.err(value.key_pos[k], f"{sub}.{k}", f"unknown key {k!r} for "
                               f"{kind}{suggest(k, allowed)} (allowed: {', '.join(allowed)})")
        return Opts(kind, dict(value.items), dict(value.key_pos), sub, kpos)

    def check_kind(self, kind: str, pos: Pos, key: str) -> None:
        if kind not in self.kinds:
            raise self.err(pos, key, f"unknown layer kind {kind!r}{suggest(kind, self.kinds)} "
                           f"(kinds: {', '.join(self.kinds)})")

    def repeated(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
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
        # A repetition is compiled once per input shape it meets (usually once: a repeated
        # block keeps its shape); the others are the same subtree under their own name.
        seen: dict[Shape, tuple[SpecNode, Shape, int]] = {}
        for r in range(times):
            if shape in seen:
                first, out, layers = seen[shape]
                self.count += layers
                if self.count > MAX_LAYERS:
                    raise self.err(o.pos, o.key, f"more than {MAX_LAYERS} layers")
                children.append(_renamed(first, str(r)))
                shape = out
                continue
            before = self.count
            child, out = self.one(o, str(r), shape)
            seen[shape] = (child, out, self.count - before)
            children.append(child)
            shape = out
        return GroupNode(name, tuple(children), self.ctx(o.pos, o.key, name)), shape

    def one(self, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
        return self.kinds[o.kind].compile(self, o, name, shape)

    def spatial(self, o: Opts, shape: Shape) -> int:
        dims = len(shape) - 1
        if dims not in (1, 2, 3):
            raise self.err(o.pos, o.key, f"{o.kind} needs an input with 1, 2 or 3 spatial "
                           f"dimensions, got shape {list(shape)}")
        return dims

    def parallel(self, o: Opts, name: str, branches: tuple[GroupNode, ...],
                 outs: tuple[Shape, ...], op: Op, join_name: str) -> tuple[SpecNode, Shape]:
        self.count += 1
        try:
            out = shape_of(op, [(1, *s) for s in outs])[1:]
        except ConvcostError as exc:
            raise self.wrap(exc, o.pos, o.key) from None
        join = LayerNode(join_name, op, self.ctx(o.pos, o.key, join_name), outs[0])
        after: list[LayerNode] = []
        act = self.word(o, "activation", ACTIVATION_WORDS, "none")
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
            if not VARIABLE_PATTERN.match(k) or k == "in":
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
                        raise ExprError(f"undefined variable {n!r}{suggest(n, defs)}")
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
