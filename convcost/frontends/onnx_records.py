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
from dataclasses import dataclass, field
from typing import Any

from convcost.core.ops import FreeParameter, Op, Shape
from convcost.core.records import LayerRecord, Uncounted
from convcost.errors import AnalysisError, ConvcostError
from convcost.frontends.onnx_load import Graph
from convcost.frontends.onnx_names import assign_paths, module_of, owner_of
from convcost.frontends.onnx_tables import (
    FLOAT_TYPES,
    FREE,
    NoShape,
    Unsupported,
    attrs,
    data_inputs,
    handler_for,
)

ROOT = "(root)"


@dataclass
class _Pending:
    op: Op
    inputs: tuple[Shape, ...]
    label: str
    node: Any
    weight: str | None = None
    extra: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    """Initializers the record's parameters come from, when ``weight`` is a part of one."""
    outputs: tuple[str, ...] = ()
    """Values it produces besides its node's outputs (a linear layer's bias Add folded in)."""


@dataclass
class OnnxWalk:
    records: list[LayerRecord]
    uncounted: list[Uncounted]
    ignored: dict[str, int] = field(default_factory=dict)
    node_paths: dict[str, str] = field(default_factory=dict)
    """Node name -> the name of the record it became (for per-layer references)."""
    params_unique: int = 0


class Walker:
    """One walk over a graph: the records so far, what was folded, ignored or uncounted."""

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
        # A weight the exporter transposes in the graph (MatMul(x, Transpose(W))) is still that
        # parameter: counted once, under its own name.
        self.views: dict[str, str] = {}
        for n in nodes:
            if n.op_type == "Transpose" and n.input and n.output and \
                    self.resolve(n.input[0]) in self.tensors and \
                    len(self.tensors[self.resolve(n.input[0])].dims) == 2:
                self.views[n.output[0]] = self.resolve(n.input[0])
        self.consumers: dict[str, list[Any]] = {}
        for n in nodes:
            for name in n.input:
                self.consumers.setdefault(self.resolve(name), []).append(n)
        self.producers = {o: n for n in nodes for o in n.output}
        self.pending: list[_Pending] = []
        self.done: set[int] = set()  # ids of nodes folded into another's record
        self.uncounted: dict[str, tuple[int, list[str]]] = {}
        self.ignored: dict[str, int] = {}
        self.layers: dict[str, int] = {}
        self.transposed: set[str] = set()

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
        return self.resolve(name) in self.tensors or self.resolve(name) in self.views

    def key(self, name: str) -> str:
        """The initializer a parameter's values are counted under."""
        name = self.resolve(name)
        return self.views.get(name, name)

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
             weight: str | None = None, extra: tuple[str | None, ...] = (),
             also: tuple[str | None, ...] = ()) -> None:
        self.pending.append(_Pending(
            op, tuple(inputs), label, node, self.key(weight) if weight else None,
            tuple(self.key(e) for e in extra if e), tuple(self.key(e) for e in also if e)))

    def next_layer(self, node: Any) -> int:
        """0, 1, 2... for the recurrent nodes of one module, in order."""
        key = module_of(node) or node.name
        n = self.layers[key] = self.layers.get(key, -1) + 1
        return n

    def batch_first(self, node: Any, x: str, shape: Shape) -> Shape:
        """A recurrent node's (steps, batch, features) input as (batch, steps, features) when
        the exporter transposed a batch-first input into it (or into an earlier layer of the
        same module)."""
        key = module_of(node) or node.name
        producer = self.producers.get(self.resolve(x))
        if producer is not None and producer.op_type == "Transpose" and \
                list(attrs(producer).get("perm", [])) == [1, 0, 2]:
            self.transposed.add(key)
        return (shape[1], shape[0], *shape[2:]) if key in self.transposed else shape

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
            if node.op_type not in FREE and node.output and (
                    all(o in self.g.constants for o in node.output if o)
                    or all(i in self.g.constants for i in node.input if i)):
                # computed from constants and shapes alone (the shape arithmetic of
                # x.chunk(2, dim=1)): folded before inference, it costs nothing
                key = f"{node.op_type} (constant)"
                self.ignored[key] = self.ignored.get(key, 0) + 1
                continue
            handler = handler_for(node.op_type)
            try:
                if handler is not None:
                    handler(self, node)
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
        flow = self.flow()
        counted: set[str] = set()
        records: list[LayerRecord] = []
        node_paths: dict[str, str] = {}
        for i, (p, path) in enumerate(zip(self.pending, paths, strict=True)):
            tied = p.weight is not None and p.weight in counted
            if p.weight:
                counted.add(p.weight)
            bias_tied = all(e in counted for e in p.extra) if p.extra else tied
            counted.update(p.extra)
            counted.update(p.also)
            records.append(LayerRecord(path, p.op, p.inputs, tied=tied, bias_tied=bias_tied,
                                       sources=flow[i] if flow else None))
            node_paths.setdefault(p.node.name, ".".join(path))
        stored = {id(t) for t in self.g.initializers.values()}
        for name, t in self.tensors.items():
            # initializers only: a Constant node is a value of the graph (a zero state, a
            # scale), not a parameter, unless a layer uses it as its weights
            if name in counted or t.data_type not in FLOAT_TYPES or id(t) not in stored:
                continue
            size = math.prod(int(d) for d in t.dims)
            users = self.consumers.get(name, [])
            if size > 1 and any(_data_slot(u, name) for u in users):
                records.append(LayerRecord(tuple(name.split(".")), FreeParameter(size), (),
                                           sources=() if flow is not None else None))
                counted.add(name)
        unique = sum(math.prod(int(d) for d in self.tensors[n].dims) for n in counted
                     if n in self.tensors)
        uncounted = [Uncounted(op=k, count=c, modules=tuple(m))
                     for k, (c, m) in self.uncounted.items()]
        return OnnxWalk(records, uncounted, dict(self.ignored), node_paths, unique)


    def flow(self) -> list[tuple[int, ...]] | None:
        """For each record, the record that produced each of its inputs (-1: a model input or
        a constant), followed through the nodes that left no record (views, copies, folded
        patterns); None when a record's inputs cannot be matched to values."""
        made: dict[str, int] = {}
        for i, p in enumerate(self.pending):
            for out in (*p.node.output, *p.outputs):
                if out:
                    made.setdefault(out, i)

        def source(name: str, before: int) -> int:
            for _ in range(10_000):
                name = self.resolve(name)
                if name in made and made[name] < before:
                    return made[name]
                node = self.producers.get(name)
                if node is None or not node.input or self.param(name):
                    return -1
                name = node.input[0]
            return -1

        out = []
        for i, p in enumerate(self.pending):
            # a record's own parameters (a DeformConv's W between its X and offset) are not
            # among the data its inputs name
            own = {p.weight, *p.extra, *p.also} - {None}
            names = [n for n in p.node.input
                     if n and not self._scalar(n) and self.key(n) not in own]
            if len(names) < len(p.inputs):
                names = [n for n in p.node.input if n]
            if len(names) < len(p.inputs):
                return None
            out.append(tuple(source(n, i) for n in names[: len(p.inputs)]))
        return out

    def _scalar(self, name: str) -> bool:
        shape = self.g.shapes.get(self.resolve(name))
        return self.param(name) and shape is not None and math.prod(shape) == 1


def _data_slot(node: Any, name: str) -> bool:
    """Whether ``name`` feeds ``node`` as data, not as a shape, axes or bound."""
    if node.op_type == "Identity":
        return False  # another parameter's name for it: counted under that name
    first_meta = data_inputs(node.op_type)
    return any(i < first_meta if first_meta is not None else True
               for i, n in enumerate(node.input) if n == name)


def walk_graph(graph: Graph) -> OnnxWalk:
    """Every node of ``graph`` as a record, a free op or an uncounted op."""
    return Walker(graph).run()
