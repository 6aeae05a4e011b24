"""Module scopes of a graph without modules: a ``torch.export`` program's module
(``ExportedProgram.module()``, what a ``.pt2`` archive loads as) is one flat graph, so no module
hook fires inside it; its nodes carry ``nn_module_stack`` instead. Running it node by node,
each op is attributed to the modules of its node, so the records are named as the eager
model's are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.frontends.torch.state import Frame, WalkState


class Scope:
    """Stands for a module of the original model (only its name is left)."""

    def __init__(self, fqn: str, type_name: str) -> None:
        self.fqn = fqn
        self.type_name = type_name

    def children(self) -> Any:
        return iter(())


def _stack_of(node: Any) -> list[tuple[str, str]]:
    stack = node.meta.get("nn_module_stack") or {}
    out = []
    for value in stack.values():
        path, kind = value if isinstance(value, tuple) else (str(value), "")
        if path:
            out.append((str(path), str(kind).rpartition(".")[2]))
    return out


def has_module_stacks(model: Any) -> bool:
    """Whether ``model`` is one flat fx graph whose nodes say which modules they ran in."""
    import torch

    graph = getattr(model, "graph", None)
    if not isinstance(model, torch.fx.GraphModule) or graph is None:
        return False
    return any(_stack_of(n) for n in graph.nodes)


def _enter(state: WalkState, paths: Sequence[tuple[str, str]], leaves: set[str]) -> None:
    """Make the state's module stack the root plus ``paths`` (outermost first)."""
    keep = 1
    while (keep < len(state.stack) and keep - 1 < len(paths)
           and state.stack[keep].fqn == paths[keep - 1][0]):
        keep += 1
    for frame in reversed(state.stack[keep:]):
        state.close(frame)
    del state.stack[keep:]
    for fqn, kind in paths[keep - 1:]:
        state.stack.append(Frame(Scope(fqn, kind), fqn, leaf=fqn in leaves))


def run_scoped(state: WalkState, model: Any, args: Sequence[Any]) -> Any:
    """Run the graph of ``model`` node by node, each in the scope of its modules."""
    import torch

    nodes = list(model.graph.nodes)
    names = {fqn for n in nodes for fqn, _ in _stack_of(n)}
    leaves = {f for f in names if not any(o.startswith(f + ".") for o in names)}

    class Scoped(torch.fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            if n.op in ("call_function", "call_method"):
                _enter(state, _stack_of(n), leaves)
            return super().run_node(n)

    try:
        return Scoped(model).run(*args)
    finally:
        _enter(state, [], leaves)


# ---------------------------------------------------------------- TorchScript

_PRIMS = frozenset({"prim::Constant", "prim::GetAttr", "prim::ListConstruct",
                    "prim::TupleConstruct", "prim::TupleUnpack", "prim::ListUnpack",
                    "prim::NumToTensor"})


def _script_scope(node: Any) -> list[tuple[str, str]]:
    """``Net::/Sequential::blocks/Block::0`` (or ``__module.blocks/__module.blocks.0``) ->
    [("blocks", ...), ("blocks.0", ...)]: the modules a traced node ran in."""
    out: list[tuple[str, str]] = []
    path: list[str] = []
    for part in node.scopeName().split("/"):
        if part.startswith("__module."):  # an inlined graph names each module by its path
            out.append((part.removeprefix("__module."), ""))
            continue
        kind, _, name = part.rpartition("::")
        if not name or not kind:
            continue
        path.append(name)
        out.append((".".join(path), kind.rpartition(".")[2]))
    return out


def script_graph(model: Any) -> Any:
    """The graph to run a TorchScript module by, node by node, or None (a module with
    branches, loops or calls other than ``forward`` runs as it is): a traced module's own
    graph when its nodes name their modules, else (a saved archive) every module's forward
    graph, called in turn."""
    import torch

    if not isinstance(model, torch.jit.ScriptModule):
        return None
    graphs = []
    for module in model.modules():
        graph = getattr(module, "graph", None)
        if graph is None:
            return None
        graphs.append(graph)
    for graph in graphs:
        for n in graph.nodes():
            kind = n.kind()
            call = kind == "prim::CallMethod" and n.s("name") == "forward"
            if not (kind in _PRIMS or kind.startswith("aten::") or call):
                return None
    return model.graph


def run_script_scoped(state: WalkState, model: Any, graph: Any, args: Sequence[Any]) -> Any:
    """Run a TorchScript module's graph node by node: a call of a submodule's forward runs
    that module's graph inside its frame; a traced node names its modules by its scope."""
    nodes = list(graph.nodes())
    names = {fqn for n in nodes for fqn, _ in _script_scope(n)}
    leaves = {f for f in names if not any(o.startswith(f + ".") for o in names)}
    fqns: dict[int, str] = {id(model): ""}
    try:
        return _run_graph(state, model, graph, args, fqns, leaves)
    finally:
        _enter(state, [], leaves)


def _run_graph(state: WalkState, module: Any, graph: Any, args: Sequence[Any],
               fqns: dict[int, str], leaves: set[str]) -> Any:
    import torch

    inputs = list(graph.inputs())
    env: dict[int, Any] = {inputs[0].unique(): module}
    for value, arg in zip(inputs[1:], args, strict=True):
        env[value.unique()] = arg
    for node in graph.nodes():
        kind = node.kind()
        ins = [env[v.unique()] for v in node.inputs()]
        outs: list[Any]
        if kind == "prim::Constant":
            outs = [node.output().toIValue()]
        elif kind == "prim::GetAttr":
            name = node.s("name")
            found = getattr(ins[0], name)
            if isinstance(found, torch.nn.Module) and id(ins[0]) in fqns:
                parent = fqns[id(ins[0])]
                fqns[id(found)] = f"{parent}.{name}" if parent else name
            outs = [found]
        elif kind == "prim::ListConstruct":
            outs = [list(ins)]
        elif kind == "prim::TupleConstruct":
            outs = [tuple(ins)]
        elif kind in ("prim::TupleUnpack", "prim::ListUnpack"):
            outs = list(ins[0])
        elif kind == "prim::NumToTensor":
            outs = [torch.scalar_tensor(ins[0])]
        elif kind == "prim::CallMethod":
            sub = ins[0]
            fqn = fqns.get(id(sub), type(sub).__name__)
            leaf = not any(True for _ in sub.children())
            state.stack.append(Frame(sub, fqn, leaf=leaf))
            try:
                result = _run_graph(state, sub, sub.graph, ins[1:], fqns, leaves)
            finally:
                frame = state.stack.pop()
                state.close(frame)
            outs = [result] if node.outputsSize() == 1 else list(result)
        else:
            scope = _script_scope(node)
            if scope:
                _enter(state, scope, leaves)
            outs = [_call(node, ins)]
            if node.outputsSize() != 1:
                outs = list(outs[0])
        for value, out in zip(node.outputs(), outs, strict=True):
            env[value.unique()] = out
    returned = [env[v.unique()] for v in graph.return_node().inputs()]
    return returned[0] if len(returned) == 1 else tuple(returned)


def _call(node: Any, ins: list[Any]) -> Any:
    """Call the aten overload a TorchScript node names, keyword-only arguments by name."""
    import torch

    schema = torch._C.parse_schema(node.schema())
    packet = getattr(torch.ops.aten, schema.name.removeprefix("aten::"))
    op = getattr(packet, schema.overload_name or "default")
    args, kwargs = [], {}
    for arg, value in zip(schema.arguments, ins, strict=False):
        if arg.kwarg_only:
            kwargs[arg.name] = value
        else:
            args.append(value)
    return op(*args, **kwargs)
