"""The op catalogue: the modules of :mod:`convcost.ops`, each one op (or one family) whole.

An op module registers everything convcost knows of its op where that knowledge is used: its
formula and shape rule with core, its YAML kind, aten handlers and ONNX handlers with the
front-ends, and its torch module with the builder. The front-ends and the builder know their
registries, never the ops; each registry calls :func:`load` before its first lookup, so it is
complete whoever asks first. This is the one place that imports ``convcost.ops`` from below.
"""

from __future__ import annotations

import importlib

_loaded = False


def load() -> None:
    """Import every op module once (each registers itself on import)."""
    global _loaded
    if not _loaded:
        importlib.import_module("convcost.ops")  # a module importing it meanwhile sees it partly
        _loaded = True
