"""Layer names for ONNX nodes: the module path the exporter wrote, else the node's name.

torch's exporters write where a node came from in two ways:

* the TorchScript exporter (``dynamo=False``) names nodes by their module scope,
  ``/features/features.1/block/block.0/block.0.0/Conv``: each segment is a child's name,
  written relative to the segment before it when it extends it (``block`` then ``block.0``);
* the ``torch.export`` exporter (``dynamo=True``) writes ``pkg.torch.onnx.name_scopes``
  metadata, ``['', 'features', 'features.0', 'features.0.0', 'conv2d']``: fully qualified module
  names, then the op.

Parameters keep their module path in the initializer's name (``features.0.0.weight``).
A layer is named as the torch front-end names it: a leaf module that ran one costed op by the
module's path, anything else by the module's path and the op's label (``features.1.add``).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

NAME_SCOPES = "pkg.torch.onnx.name_scopes"

_PARAM_SUFFIXES = ("weight", "bias", "running_mean", "running_var")


def module_of(node: Any) -> str | None:
    """The fully qualified module name a node came from ('' = the model itself), or None
    when the exporter did not write one."""
    for prop in node.metadata_props:
        if prop.key == NAME_SCOPES:
            try:
                scopes = ast.literal_eval(prop.value)  # a list of strings; never evaluated code
            except (ValueError, SyntaxError):
                break
            if isinstance(scopes, list) and len(scopes) >= 2 and all(
                isinstance(s, str) for s in scopes
            ):
                return str(scopes[-2])
            break
    name = node.name
    if not name.startswith("/"):
        return None
    segments = [s for s in name.split("/")[1:-1] if s]
    fqn = ""
    prev = ""
    for seg in segments:
        if prev and seg.startswith(prev + "."):
            fqn += seg[len(prev):]
        else:
            fqn = f"{fqn}.{seg}" if fqn else seg
        prev = seg
    return fqn


def owner_of(initializer: str) -> str | None:
    """The module that owns a parameter named like ``features.0.0.weight``."""
    owner, dot, attr = initializer.rpartition(".")
    if not dot or not owner or attr not in _PARAM_SUFFIXES or ":" in initializer:
        return None
    return owner


def _parts(fqn: str) -> tuple[str, ...]:
    return tuple(fqn.split(".")) if fqn else ()


def _again(module: str, modules: set[str]) -> tuple[str, ...] | None:
    """The TorchScript exporter names a module's second call ``relu_1``: ``relu#2``, as the
    torch front-end names it, when ``relu`` is a module too."""
    head, _, last = module.rpartition(".")
    base, sep, n = last.rpartition("_")
    if not sep or not n.isdigit() or not base:
        return None
    first = f"{head}.{base}" if head else base
    if first not in modules:
        return None
    return (*_parts(head), f"{base}#{int(n) + 1}")


def assign_paths(
    items: Sequence[tuple[str | None, str | None, str, str]],
) -> list[tuple[str, ...]]:
    """One path per record from (module, parameter owner, label, node name).

    A record with a parameter of its own is named by the parameter's owner (an exporter may
    fold a batch-norm into the conv before it and name the node after the batch-norm); the rest
    by their module: the module's path alone for the single record of a
    leaf module, else the module's path and the label, numbered ``label_2``... A record with
    neither is named by its node. Paths met again get ``#2``...
    """
    modules = {m for m, _, _, _ in items if m is not None}
    modules |= {o for _, o, _, _ in items if o is not None}
    parents: set[str] = set()
    for m in modules:
        parts = m.split(".")
        parents.update(".".join(parts[:i]) for i in range(len(parts)))
    paths: list[tuple[str, ...] | None] = [None] * len(items)
    loose: dict[str, list[int]] = {}
    for i, (module, owner, _label, node_name) in enumerate(items):
        if owner is not None:
            paths[i] = _parts(owner)
        elif module is not None:
            loose.setdefault(module, []).append(i)
        else:
            paths[i] = (node_name,)
    for module, idx in loose.items():
        if len(idx) == 1 and module and module not in parents:
            paths[idx[0]] = _again(module, modules) or _parts(module)
            continue
        seen: dict[str, int] = {}
        for i in idx:
            label = items[i][2]
            n = seen[label] = seen.get(label, 0) + 1
            paths[i] = (*_parts(module), label if n == 1 else f"{label}_{n}")
    out: list[tuple[str, ...]] = []
    count: dict[tuple[str, ...], int] = {}
    for p in paths:
        assert p is not None
        n = count[p] = count.get(p, 0) + 1
        out.append(p if n == 1 else (*p[:-1], f"{p[-1]}#{n}"))
    return out
