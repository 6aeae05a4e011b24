"""Small constants of an ONNX graph, and a second shape inference that uses them.

Exporters compute shapes and axes in the graph (``Shape -> Gather -> Concat -> Expand``,
``Reshape`` of an axes list). ONNX shape inference does not always follow them, and leaves
the shapes after them unknown. Here the small integer (and scalar) values such subgraphs compute
are evaluated with numpy, from constants and from inferred shapes only, never from weights
or inputs; when some shape is still unknown, the integer values feeding the nodes after them
are written in as initializers and shapes are inferred once more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_ELEMENTS = 64

Shape = tuple[int, ...]


def constants(model: Any, shapes: dict[str, Shape]) -> dict[str, Any]:
    """Name -> numpy value of every small constant: inline initializers, Constant nodes and
    what the ops in :data:`_OPS` compute from them (and from ``Shape`` of known shapes)."""
    import numpy as np
    from onnx import numpy_helper

    out: dict[str, Any] = {}
    for t in model.graph.initializer:
        if t.data_location != 1 and _numel(t.dims) <= MAX_ELEMENTS:
            out[t.name] = numpy_helper.to_array(t)
    for node in model.graph.node:
        if not node.output:
            continue
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value" and _numel(a.t.dims) <= MAX_ELEMENTS:
                    out[node.output[0]] = numpy_helper.to_array(a.t)
                elif a.name in ("value_float", "value_int"):
                    out[node.output[0]] = np.asarray(a.f if a.name == "value_float" else a.i)
                elif a.name in ("value_floats", "value_ints"):
                    out[node.output[0]] = np.asarray(
                        list(a.floats if a.name == "value_floats" else a.ints))
        elif node.op_type == "Shape" and node.input[0] in shapes:
            out[node.output[0]] = _shape_of(node, shapes[node.input[0]])
        elif all(i in out for i in node.input if i):
            _fold(node, out)
    return out


def _numel(dims: Any) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def _shape_of(node: Any, shape: Shape) -> Any:
    import numpy as np

    start, end = 0, len(shape)
    for a in node.attribute:
        if a.name == "start":
            start = a.i
        elif a.name == "end":
            end = a.i
    return np.asarray(shape[start:end], np.int64)


def _ops() -> dict[str, Callable[..., Any]]:
    import numpy as np

    return {
        "Identity": lambda a, x: x, "Cast": lambda a, x: x, "CastLike": lambda a, x, _: x,
        "Reshape": lambda a, x, s: x.reshape([int(d) for d in s]),
        "Squeeze": lambda a, x, *_: x.reshape(-1) if x.size == 1 else x,
        "Unsqueeze": lambda a, x, *_: x.reshape(-1) if x.size == 1 else x,
        "Flatten": lambda a, x: x.reshape(-1),
        "Concat": lambda a, *xs: np.concatenate([x.reshape(-1) for x in xs]),
        "Gather": lambda a, x, i: np.take(x, i, axis=int(a.get("axis", 0))),
        "Equal": lambda a, x, y: np.equal(x, y), "Where": lambda a, c, x, y: np.where(c, x, y),
        "Add": lambda a, x, y: x + y, "Sub": lambda a, x, y: x - y,
        "Mul": lambda a, x, y: x * y, "Mod": lambda a, x, y: np.fmod(x, y)
        if a.get("fmod", 0) else np.mod(x, y),
        "Div": lambda a, x, y: x // y if x.dtype.kind in "iu" else x / y,
        "ConstantOfShape": lambda a, s: np.full([int(d) for d in s], _fill(a.get("value")))
        if _numel(s) <= MAX_ELEMENTS else None,
    }


def _fill(value: Any) -> Any:
    """ConstantOfShape's one-element value (a TensorProto), 0.0 when absent."""
    import numpy as np
    from onnx import numpy_helper

    return np.float32(0.0) if value is None else numpy_helper.to_array(value).reshape(-1)[0]


def _fold(node: Any, values: dict[str, Any]) -> None:
    import numpy as np
    from onnx import helper

    fn = _ops().get(node.op_type)
    if fn is None or len(node.output) != 1:
        return
    try:
        args = [np.asarray(values[i]) for i in node.input if i]
        attrs = {x.name: helper.get_attribute_value(x) for x in node.attribute}
        result = fn(attrs, *args)
    except (ValueError, IndexError, TypeError, ZeroDivisionError, FloatingPointError):
        return
    if result is not None and np.asarray(result).size <= MAX_ELEMENTS:
        values[node.output[0]] = np.asarray(result)


def with_folded_inputs(model: Any, values: dict[str, Any], known: set[str]) -> Any | None:
    """A copy of ``model`` where nodes with an unknown output read the integer values they are
    given from new initializers, or None when there is nothing to write in."""
    import numpy as np
    from onnx import ModelProto, numpy_helper

    stored = {t.name for t in model.graph.initializer}
    wanted: dict[str, str] = {}
    for node in model.graph.node:
        if node.op_type == "Constant" or all(o in known for o in node.output if o):
            continue
        for name in node.input:
            v = values.get(name)
            if name and name not in stored and v is not None and \
                    np.asarray(v).dtype.kind in "iub":
                wanted[name] = f"{name}::value"
    if not wanted:
        return None
    copy = ModelProto()
    copy.CopyFrom(model)
    for node in copy.graph.node:
        if node.op_type == "Constant" or all(o in known for o in node.output if o):
            continue
        for i, name in enumerate(node.input):
            if name in wanted:
                node.input[i] = wanted[name]
    copy.graph.initializer.extend(
        numpy_helper.from_array(np.asarray(values[n]), new) for n, new in wanted.items())
    return copy
