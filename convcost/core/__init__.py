"""Pure-Python cost core: op specs, the formula registry, shape rules and the separable rewrite.

Importing this package must never import torch, yaml or rich.
"""

from __future__ import annotations

from convcost.core.convention import CONVENTION, Convention
from convcost.core.cost import FLOPS_PER_MAC, Cost, numel
from convcost.core.dtypes import DType
from convcost.core.ops import (
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
    Kind,
    Linear,
    Op,
    Pool,
    PoolMode,
    Shape,
)
from convcost.core.registry import cost_of, formula
from convcost.core.rewrite import (
    Comparison,
    can_separate,
    compare,
    is_separable_pair,
    paper_ratio,
    to_separable,
    to_standard,
)

__all__ = [
    "CONVENTION", "FLOPS_PER_MAC", "Activation", "ActivationFn", "AdaptivePool", "Add",
    "BatchNorm", "Comparison", "Concat", "Conv", "ConvRole", "Convention", "Cost", "DType",
    "Dropout", "Flatten", "GlobalPool", "Kind", "Linear", "Op", "Pool", "PoolMode", "Shape",
    "can_separate", "compare", "cost_of", "formula", "is_separable_pair", "numel",
    "paper_ratio", "to_separable", "to_standard",
]
