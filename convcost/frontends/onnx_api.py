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

from typing import Any

from convcost.core.analysis import Analysis, Variant, analyze_read
from convcost.core.dtypes import DType
from convcost.core.records import SourceRead
from convcost.frontends.onnx_load import Graph, load_graph
from convcost.frontends.onnx_records import OnnxWalk, walk_graph

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
    """The file read and costed (``dtype`` overrides the graph's own)."""
    read, graph, result = read_onnx_file(path, inputs)
    return analyze_read(read, rewrite_as=rewrite_as, dtype=dtype), graph, result


def read_onnx_file(path: str, inputs: Any = ()) -> tuple[SourceRead, Graph, OnnxWalk]:
    """The graph's records and what the file says of itself (opset, input names)."""
    graph = load_graph(path, list(inputs))
    result = walk_graph(graph)
    extra = {
        "frontend": "onnx",
        "opset": graph.opset,
        "input_names": [name for name, _ in graph.inputs],
        "params_unique": result.params_unique,
        "ignored_ops": dict(result.ignored),
    }
    read = SourceRead(path, tuple(result.records), tuple(shape for _, shape in graph.inputs),
                      _dtype(graph), tuple(result.uncounted), extra=extra)
    return read, graph, result
