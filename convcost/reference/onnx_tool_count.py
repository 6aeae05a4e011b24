"""onnx-tool's count of an ONNX file, by operator and by convcost's row names (optional:
None when onnx-tool is not installed)."""

from __future__ import annotations

import math
from typing import Any

from convcost.errors import AnalysisError
from convcost.frontends.onnx_load import Graph
from convcost.frontends.onnx_records import OnnxWalk
from convcost.reference.counts import ReferenceCount, Tool

NO_REFERENCE = "no reference count exists for an ONNX file without onnx-tool"

_MAC_NAMES = {"Conv": "conv", "ConvTranspose": "conv_transpose2d", "Gemm": "linear",
              "MatMul": "matmul"}


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
