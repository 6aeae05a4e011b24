"""Read an ONNX file safely, fix its dynamic input sizes and infer every tensor's shape.

Loading parses the protobuf from the file's bytes (external data left on disk): nothing in
the file is executed, and weights are never read into memory, only their shapes. External data
files are checked to exist and to be long enough. Never imports torch.

Errors: a file that is not ONNX, is truncated, names missing external data, or an ``--input``
that names no input / contradicts the file is :class:`InputError` (exit 2); an opset this onnx
package does not know, or a graph whose shapes cannot be inferred, is :class:`AnalysisError`
(exit 3).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcost.errors import AnalysisError, Context, InputError
from convcost.frontends.onnx_fold import MAX_ELEMENTS, constants, with_folded_inputs
from convcost.frontends.source_kind import is_onnx as is_onnx
from convcost.frontends.torch_source import InputSpec

MIN_OPSET = 7
"""The oldest default-domain opset read (opset 7 is ONNX 1.2, 2018: every exporter since)."""

Shape = tuple[int, ...]


@dataclass(frozen=True)
class NamedInput(InputSpec):
    """An input shape for an ONNX model: by graph-input name, or by position (``name=None``)."""

    name: str | None = None
    dtype_given: bool = False
    """Whether the text named the element type (``1,128:int64``): the file's must be it."""


def parse_onnx_input(text: str) -> tuple[NamedInput, ...]:
    """``NAME=1,3,224,224`` or ``1,3,224,224`` (positional); ``;`` separates several."""
    from convcost.frontends.torch_source import parse_input_spec

    out = []
    for part in text.split(";"):
        name, sep, rest = part.partition("=")
        spec_text = rest if sep else part
        for piece, spec in zip(spec_text.split(";"), parse_input_spec(spec_text), strict=True):
            out.append(NamedInput(spec.shape, spec.dtype, name.strip() if sep else None,
                                  dtype_given=":" in piece))
    return tuple(out)


@dataclass
class Graph:
    """What the records need from an ONNX model, with every shape known."""

    model: Any
    """The ``onnx.ModelProto`` (external data not loaded)."""
    path: str
    opset: int
    shapes: dict[str, Shape]
    """Every value name (inputs, initializers, node outputs) -> its inferred shape."""
    initializers: dict[str, Any]
    """Initializer name -> its TensorProto (data may be external)."""
    constants: dict[str, Any] = field(default_factory=dict)
    """Name -> small constant values (numpy arrays) from Constant nodes and inline
    initializers, for attributes given as inputs (Clip bounds, axes, ...)."""
    inputs: tuple[tuple[str, Shape], ...] = ()
    """The graph's real inputs (not initializers) with their fixed shapes."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise AnalysisError("reading an ONNX file needs the onnx package: "
                            "pip install 'convcost[onnx]'") from None
    return onnx


def _read(path: str) -> Any:
    onnx = _onnx()
    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory, not an ONNX file", Context(file=path))
    if not p.is_file():
        raise InputError("no such file", Context(file=path))
    data = p.read_bytes()
    if not data:
        raise InputError("empty file, not an ONNX model", Context(file=path))
    try:
        model = onnx.load_model_from_string(data)
    except Exception as err:  # protobuf's DecodeError and friends
        why = "truncated or not an ONNX model" if data[:1] == b"\x08" else "not an ONNX model"
        raise InputError(f"{why} ({type(err).__name__})", Context(file=path)) from None
    if not model.HasField("graph") or not (model.graph.node or model.graph.output):
        raise InputError("not an ONNX model (no graph)", Context(file=path))
    return model


def _opset(model: Any, path: str) -> int:
    onnx = _onnx()
    versions = {o.domain: o.version for o in model.opset_import}
    opset = versions.get("", versions.get("ai.onnx", 0))
    known = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= known:
        raise AnalysisError(
            f"unsupported opset {opset}: this onnx package ({onnx.__version__}) reads opsets "
            f"{MIN_OPSET} to {known}", Context(file=path))
    return int(opset)


def _check_external(model: Any, path: str) -> None:
    """Every external-data tensor's file exists next to the model and holds its bytes."""
    onnx = _onnx()
    base = Path(path).resolve().parent
    tensors = list(model.graph.initializer)
    tensors += [a.t for n in model.graph.node if n.op_type == "Constant" for a in n.attribute
                if a.name == "value"]
    for tensor in tensors:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        target = (base / location).resolve()
        if not location or os.path.isabs(location) or base not in target.parents:
            raise InputError(f"tensor {tensor.name!r}: external data location {location!r} "
                             "is outside the model's directory", Context(file=path))
        if not target.is_file():
            raise InputError(f"tensor {tensor.name!r}: external data file {location!r} is "
                             "missing", Context(file=path))
        end = int(info.get("offset", 0) or 0) + int(info.get("length", 0) or 0)
        if target.stat().st_size < end:
            raise InputError(f"tensor {tensor.name!r}: external data file {location!r} is "
                             "shorter than the model says (truncated)", Context(file=path))


def _dims(value_info: Any) -> list[int | str | None]:
    """A value's dims: an int, a symbolic name, or None when unnamed and unknown."""
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return []
    out: list[int | str | None] = []
    for d in t.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def _fix_inputs(model: Any, given: Sequence[Any], path: str) -> tuple[tuple[str, Shape], ...]:
    """Write the given shapes into the graph's inputs; every dim must end up known."""
    init_names = {t.name for t in model.graph.initializer}
    real = [vi for vi in model.graph.input if vi.name not in init_names]
    names = [vi.name for vi in real]
    by_name: dict[str, Shape] = {}
    positional = []
    dtypes: dict[str, str] = {}
    positional_dtypes: list[str | None] = []
    for item in given:
        name = getattr(item, "name", None)
        shape = tuple(int(s) for s in getattr(item, "shape", item))
        dtype = item.dtype if getattr(item, "dtype_given", False) else None
        if name is None:
            positional.append(shape)
            positional_dtypes.append(dtype)
        elif name not in names:
            raise InputError(f"no input named {name!r}; the model's inputs are "
                             f"{', '.join(map(repr, names)) or 'none'}", Context(flag="--input"))
        else:
            by_name[name] = shape
            if dtype is not None:
                dtypes[name] = dtype
    if len(positional) > len(names):
        raise InputError(f"{len(positional)} input shapes given, the model has {len(names)} "
                         f"input(s): {', '.join(map(repr, names))}", Context(flag="--input"))
    for name, shape, dtype in zip(names, positional, positional_dtypes, strict=False):
        if name in by_name:
            raise InputError(f"input {name!r} is given twice", Context(flag="--input"))
        by_name[name] = shape
        if dtype is not None:
            dtypes[name] = dtype
    fixed = []
    for vi in real:
        _check_dtype(vi, dtypes.get(vi.name))
        dims = _dims(vi)
        wanted = by_name.get(vi.name)
        if wanted is not None:
            shape = wanted
            if dims and len(dims) != len(shape):
                raise InputError(f"input {vi.name!r} has {len(dims)} dimensions "
                                 f"{_show(dims)}, got {list(shape)}", Context(flag="--input"))
            for d, s in zip(dims, shape, strict=False):
                if isinstance(d, int) and d > 0 and d != s:
                    raise InputError(f"input {vi.name!r} is {_show(dims)} in the file, "
                                     f"got {list(shape)}", Context(flag="--input"))
        else:
            if not dims or any(not isinstance(d, int) or d < 1 for d in dims):
                raise InputError(
                    f"input {vi.name!r} has unknown size(s) {_show(dims)}: give them with "
                    f"--input {vi.name}=" + ",".join(
                        str(d) if isinstance(d, int) and d > 0 else "N" for d in dims),
                    Context(file=path))
            shape = tuple(int(d) for d in dims if isinstance(d, int))
        tshape = vi.type.tensor_type.shape
        del tshape.dim[:]
        for s in shape:
            tshape.dim.add().dim_value = s
        fixed.append((vi.name, shape))
    return tuple(fixed)


def _check_dtype(vi: Any, wanted: str | None) -> None:
    """An element type given with ``--input`` must be the file's: an ONNX graph's input
    types are fixed, so a different one is refused rather than ignored."""
    if wanted is None:
        return
    from onnx import helper

    elem = vi.type.tensor_type.elem_type
    try:
        have = helper.tensor_dtype_to_np_dtype(elem).name
    except (KeyError, TypeError, ValueError):
        return  # a type numpy does not name: nothing to hold it against
    if have != wanted:
        raise InputError(f"input {vi.name!r} is {have} in the file, got {wanted}; an ONNX "
                         "model's input types are fixed (leave the type out)",
                         Context(flag="--input"))


def _show(dims: Sequence[int | str | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def load_graph(path: str, inputs: Sequence[Any] = ()) -> Graph:
    """Parse ``path``, fix the inputs to ``inputs`` (:class:`NamedInput`, or bare shapes by
    position) and infer every shape."""
    model = _read(path)
    opset = _opset(model, path)
    _check_external(model, path)
    fixed = _fix_inputs(model, inputs, path)
    # shapes only: inference never needs the weights' values (external data stays on disk,
    # and large weights are given to it as typed inputs, not copied through it)
    light = _without_weights(model)
    shapes = _shapes(_infer(light, path))
    values = constants(model, shapes)
    outputs = {o for n in model.graph.node for o in n.output if o}
    if not outputs <= shapes.keys():
        again = with_folded_inputs(light, values, set(shapes))
        if again is not None:
            # the same node outputs, now with the shapes computed in the graph followed
            shapes = {**_shapes(_infer(again, path, strict=False)), **shapes}
            values = constants(model, shapes)
    inits = {t.name: t for t in model.graph.initializer}
    for name, t in inits.items():
        shapes[name] = tuple(int(d) for d in t.dims)
    return Graph(model, path, opset, shapes, inits, values, fixed)


def _without_weights(model: Any) -> Any:
    """A copy of ``model`` whose large initializers are graph inputs of the same type."""
    onnx = _onnx()
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    keep, moved = [], []
    for t in copy.graph.initializer:
        if math.prod(t.dims) > MAX_ELEMENTS:
            moved.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
        else:
            keep.append(t)
    if moved:
        names = {vi.name for vi in moved}
        inputs = [vi for vi in copy.graph.input if vi.name not in names]
        del copy.graph.initializer[:]
        copy.graph.initializer.extend(keep)
        del copy.graph.input[:]
        copy.graph.input.extend([*inputs, *moved])
    return copy


def _infer(model: Any, path: str, strict: bool = True) -> Any:
    onnx = _onnx()
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=strict, data_prop=True)
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[-1]
        raise AnalysisError(f"ONNX shape inference failed: {first}", Context(file=path)) from None


def _shapes(model: Any) -> dict[str, Shape]:
    g = model.graph
    shapes: dict[str, Shape] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        dims = _dims(vi)
        if dims and all(isinstance(d, int) and d >= 0 for d in dims):
            shapes[vi.name] = tuple(int(d) for d in dims if isinstance(d, int))
        elif vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape") \
                and not dims:
            shapes[vi.name] = ()
    for t in g.initializer:
        shapes[t.name] = tuple(int(d) for d in t.dims)
    return shapes
