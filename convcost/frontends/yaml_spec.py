"""The YAML model description: load, check and resolve it into a :class:`ModelSpec`.

Loading resolves everything that does not depend on the batch size: variables and expressions,
the width multiplier, the resolution, every layer's input channels (shapes are inferred layer to
layer with the core's shape rules, ``shape_of(op, inputs)``), names and paths. Any
bad input -- YAML syntax, unknown keys, sizes, shapes that do not fit -- is a
:class:`~convcost.frontends.yaml_nodes.SpecError` (an ``InputError``) whose message reads
``file:line:col: key.path: message``. The format is documented in ``docs/yaml.md``.

The format and its node types are in ``yaml_format``, the compiler in ``yaml_compile``, the
kinds in ``yaml_kinds`` and the op modules of convcost.ops; this module reads a file or text
and runs them. It never imports torch.
"""

from __future__ import annotations

import math
from pathlib import Path

from convcost.core.dtypes import DType
from convcost.errors import Context, InputError
from convcost.frontends.yaml_compile import Compiler
from convcost.frontends.yaml_format import (
    MAX_SIZE,
    TOP_KEYS,
    GroupNode,
    LayerNode,
    ModelSpec,
    ParallelNode,
    SpecNode,
    kind_keys,
    make_divisible,
    suggest,
)
from convcost.frontends.yaml_nodes import (
    SpecError,
    YMap,
    YNode,
    YScalar,
    YSeq,
    describe,
    error,
    read_yaml,
)

__all__ = [
    "TOP_KEYS", "GroupNode", "LayerNode", "ModelSpec", "ParallelNode", "SpecError",
    "SpecNode", "kind_keys", "load_spec", "make_divisible", "parse_spec",
]


def _check_top(root: YNode, file: str) -> YMap:
    if not isinstance(root, YMap):
        raise error(file, root.pos, "<document>", "a model file is a mapping with 'name', "
                    f"'input' and 'layers', got {describe(root)}")
    for k in root.items:
        if k not in TOP_KEYS:
            hint = suggest(k, TOP_KEYS)
            if not hint and k in kind_keys():
                hint = "; layers go in a list under 'layers'"
            raise error(file, root.key_pos[k], k, f"unknown top-level key {k!r}{hint} "
                        f"(allowed: {', '.join(TOP_KEYS)})")
    for k in ("input", "layers"):
        if k not in root.items:
            raise error(file, root.pos, "<document>", f"missing required key {k!r}")
    return root


def parse_spec(
    text: str,
    *,
    filename: str = "<string>",
    width_mult: float = 1.0,
    resolution: int | None = None,
) -> ModelSpec:
    """Parse and check a YAML model description; every bad input is an InputError."""
    if isinstance(width_mult, bool) or not isinstance(width_mult, int | float) or \
            not math.isfinite(width_mult) or width_mult <= 0:
        raise InputError(f"width multiplier must be a positive number, got {width_mult!r}",
                         Context(flag="--width-mult"))
    if resolution is not None and (isinstance(resolution, bool) or
                                   not isinstance(resolution, int) or resolution < 1):
        raise InputError(f"resolution must be a positive integer, got {resolution!r}",
                         Context(flag="--resolution"))
    if resolution is not None and resolution > MAX_SIZE:
        raise InputError(f"resolution {resolution:.3g} is too large (limit {MAX_SIZE})",
                         Context(flag="--resolution"))
    root = _check_top(read_yaml(text, filename), filename)
    items = root.items

    divisor = 1
    comp = Compiler(filename, float(width_mult), divisor)
    comp.resolve_variables(items.get("variables"))
    if "width_divisor" in items:
        comp.divisor = comp.integer(items["width_divisor"], "width_divisor", "width_divisor")

    name = Path(filename).stem if filename and not filename.startswith("<") else "model"
    if "name" in items:
        node = items["name"]
        if not isinstance(node, YScalar) or not isinstance(node.value, str) or \
                not node.value.strip():
            raise error(filename, node.pos, "name", f"name must be a string, got "
                        f"{describe(node)}")
        name = node.value
    for k in ("description",):
        node2 = items.get(k)
        if node2 is not None and not (isinstance(node2, YScalar) and
                                      isinstance(node2.value, str | None)):
            raise error(filename, node2.pos, k, f"{k} must be a string")

    dtype = DType.FLOAT32
    if "dtype" in items:
        node = items["dtype"]
        if not isinstance(node, YScalar) or not isinstance(node.value, str):
            raise error(filename, node.pos, "dtype", f"dtype must be a string, got "
                        f"{describe(node)}")
        try:
            dtype = DType.parse(node.value)
        except InputError as exc:
            raise error(filename, node.pos, "dtype", exc.message) from None

    inode = items["input"]
    if not isinstance(inode, YSeq) or not 2 <= len(inode.items) <= 4:
        raise error(filename, inode.pos, "input", "input is [channels, *spatial] without the "
                    "batch, with 1 to 3 spatial sizes (e.g. [3, 224, 224]), got "
                    f"{describe(inode)}")
    shape = tuple(comp.integer(n, f"input[{i}]", "input size") for i, n in
                  enumerate(inode.items))
    if resolution is not None:
        shape = (shape[0], *(resolution,) * (len(shape) - 1))

    layers, out = comp.layer_list(items["layers"], "layers", shape, allow_empty=False,
                                  pos=root.key_pos["layers"])
    return ModelSpec(
        name=name,
        file=filename,
        input_shape=shape,
        output_shape=out,
        dtype=dtype,
        layers=layers,
        width_mult=float(width_mult),
        resolution=resolution,
        variables=dict(comp.variables),
    )


def load_spec(
    path: str | Path, *, width_mult: float = 1.0, resolution: int | None = None
) -> ModelSpec:
    """Read and check a YAML model description file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", Context(file=str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {p}: {exc}", Context(file=str(path))) from None
    return parse_spec(text, filename=str(path), width_mult=width_mult, resolution=resolution)
