"""Operation specs: what a layer is, independent of where it came from. These are the ops core
reasons about (its rewrites, pairing and breakdowns name them); every other op lives whole in
its module of convcost.ops.

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
    check_conv,
    conv_geometry,
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
    "OTHER_GROUP", "PRODUCT_GROUP", "Activation", "ActivationFn", "AdaptivePool", "Add",
    "Attention", "BatchNorm", "Concat", "Conv", "ConvRole", "Dropout", "Elementwise",
    "Embedding", "Flatten", "FreeParameter", "GlobalPool", "Kind", "Linear", "Matmul", "Norm",
    "NormFn", "Op", "OpInfo", "Pads", "Pool", "PoolMode", "Reduce", "Shape", "as_tuple",
    "check_conv", "conv_geometry", "per_dim", "positive", "resolve_padding", "window_geometry",
]
