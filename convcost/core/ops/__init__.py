"""Operation specs: what a layer is, independent of where it came from.

Specs are frozen and hold only structure (channels, kernel, stride, ...). Shapes flow in from
outside; costs come from the formula registry (``convcost.core.formulas``). Every op says its
own report label, geometry and breakdown group (:class:`OpInfo`).
"""

from __future__ import annotations

from convcost.core.ops.base import (
    OTHER_GROUP,
    Kind,
    Op,
    OpInfo,
    Pads,
    Shape,
    as_tuple,
    per_dim,
    positive,
    resolve_padding,
    window_geometry,
)
from convcost.core.ops.layers import (
    Activation,
    ActivationFn,
    AdaptivePool,
    Add,
    BatchNorm,
    ChannelShuffle,
    Concat,
    Conv,
    ConvRole,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Pool,
    PoolMode,
)
from convcost.core.ops.models import (
    RECURRENT_CELLS,
    UPSAMPLE_MODES,
    Einsum,
    EmbeddingBag,
    GridSample,
    Nms,
    Recurrent,
    RoiAlign,
    Upsample,
)
from convcost.core.ops.tensor import (
    PRODUCT_GROUP,
    Attention,
    Elementwise,
    Embedding,
    FreeParameter,
    Matmul,
    Norm,
    NormFn,
    Reduce,
)

__all__ = [
    "OTHER_GROUP", "PRODUCT_GROUP", "RECURRENT_CELLS", "UPSAMPLE_MODES", "Activation",
    "ActivationFn", "AdaptivePool", "Add", "Attention", "BatchNorm", "ChannelShuffle", "Concat",
    "Conv", "ConvRole", "Dropout", "Einsum", "Elementwise", "Embedding", "EmbeddingBag",
    "Flatten", "FreeParameter", "GlobalPool", "GridSample", "Kind", "Linear", "Matmul", "Nms",
    "Norm", "NormFn", "Op", "OpInfo", "Pads", "Pool", "PoolMode", "Recurrent", "Reduce",
    "RoiAlign", "Shape", "Upsample", "as_tuple", "per_dim", "positive", "resolve_padding",
    "window_geometry",
]
