"""One call from an ONNX file to a core :class:`Analysis`, and onnx-tool's count beside it.

The reference for an ONNX source is onnx-tool (``pip install onnx-tool``) when it is
installed: it profiles the same file on its own (its own shape inference and formulas); if it
fails on a model, the analysis goes on with a note.
It counts every op's multiply-adds, a biased conv's or linear's bias adds included, so its
convolution and Gemm counts are split into the multiply-adds and the bias adds (one per output
element, from onnx-tool's own output shape) before they are held against ours. Never imports
torch or fvcore.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from convcost.core.analysis import Analysis, Variant, analyze_records
from convcost.core.dtypes import DType
from convcost.errors import AnalysisError
from convcost.frontends.onnx_load import Graph, load_graph
from convcost.frontends.onnx_records import OnnxWalk, walk_graph
from convcost.reference.counts import ReferenceCount, Tool

NO_REFERENCE = "no reference count exists for an ONNX file without onnx-tool"

_MAC_NAMES = {"Conv": "conv", "ConvTranspose": "conv_transpose2d", "Gemm": "linear",
              "MatMul": "matmul"}

_ELEM_TYPES = {1: DType.FLOAT32, 10: DType.FLOAT16, 16: DType.BFLOAT16, 11: DType.FLOAT64}


def _dtype(graph: Graph) -> DType:
    """Memory traffic in the first floating initializer's element type, else float32."""
    for t in graph.initializers.values():
        found = _ELEM_TYPES.get(t.data_type)
        if found is not None:
            return found
    return DType.FLOAT32


def analyze_onnx_file(
    path: str, inputs: Any = (), *, rewrite_as: Variant = Variant.AS_WRITTEN,
    dtype: DType | None = None,
) -> tuple[Analysis, Graph, OnnxWalk]:
    graph = load_graph(path, list(inputs))
    result = walk_graph(graph)
    analysis = analyze_records(
        result.records,
        name=path,
        input_shapes=[shape for _, shape in graph.inputs],
        dtype=dtype or _dtype(graph),
        rewrite_as=rewrite_as,
        uncounted=result.uncounted,
    )
    extra = {
        **analysis.extra,
        "frontend": "onnx",
        "opset": graph.opset,
        "input_names": [name for name, _ in graph.inputs],
        "params_unique": result.params_unique,
        "ignored_ops": dict(result.ignored),
    }
    return replace(analysis, extra=extra), graph, result


def onnx_tool_count(graph: Graph, walk: OnnxWalk) -> ReferenceCount | None:
    """onnx-tool's profile of the same file, by operator and by our row names; None when
    onnx-tool is not installed."""
    try:
        import onnx_tool
    except ImportError:
        return None
    import contextlib
    import io

    proto = graph.model
    if any(t.data_location == 1 for t in graph.initializers.values()):
        # onnx-tool reads the weights: load them (within the reference memory limit)
        from pathlib import Path

        import onnx

        proto = onnx.ModelProto()
        proto.CopyFrom(graph.model)
        onnx.load_external_data_for_model(proto, str(Path(graph.path).resolve().parent))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            model = onnx_tool.Model(proto)
            g = model.graph
            g.graph_reorder_nodes()
            g.shape_infer({name: _zeros(shape) for name, shape in graph.inputs})
            g.profile()
    except Exception as err:
        first = (str(err).strip().splitlines() or [""])[0]
        raise AnalysisError(f"the onnx-tool reference failed: {type(err).__name__}: "
                            f"{first}") from err
    by_operator: dict[str, int] = {}
    by_module: dict[str, dict[str, int]] = {}
    for name, node in g.nodemap.items():
        macs = int(node.macs[0]) if isinstance(node.macs, list | tuple) else int(node.macs)
        if not macs:
            continue
        parts = _split(node, g, macs)
        for op, n in parts.items():
            by_operator[op] = by_operator.get(op, 0) + n
        row = walk.node_paths.get(name)
        if row is not None:
            mine = by_module.setdefault(row, {})
            for op, n in parts.items():
                mine[op] = mine.get(op, 0) + n
    return ReferenceCount(Tool.ONNX_TOOL, sum(by_operator.values()), by_operator, by_module)


def _zeros(shape: tuple[int, ...]) -> Any:
    import numpy as np

    return np.zeros(shape, dtype=np.float32)


def _split(node: Any, g: Any, macs: int) -> dict[str, int]:
    """onnx-tool's count of one node by our operator names; a biased conv or Gemm's bias adds
    (one per output element, onnx-tool's output shape) apart from its multiply-adds."""
    op = node.op_type
    name = _MAC_NAMES.get(op)
    if name is None:
        return {op.lower(): macs}
    if len(node.input) < 3 or not node.input[2]:
        return {name: macs}
    out = g.tensormap[node.output[0]]
    elements = math.prod(int(d) for d in out.get_shape())
    return {name: macs - elements, f"{name} bias": elements}
