"""torch.utils.flop_counter as a reference; its FLOPs are halved into multiply-adds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convcost.core.cost import FLOPS_PER_MAC
from convcost.errors import AnalysisError, first_line
from convcost.reference.counts import ReferenceCount, Tool


def torch_count(module: Any, inputs: Sequence[Any]) -> ReferenceCount:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            module(*inputs)
    except Exception as err:
        raise AnalysisError("torch.utils.flop_counter could not count the model: "
                            f"{first_line(err, with_type=False)}") from err
    by_module: dict[str, dict[str, int]] = {}
    for name, ops in counter.get_flop_counts().items():
        key = "" if name == "Global" else name
        by_module[key] = {
            str(op).removeprefix("aten."): int(n) // FLOPS_PER_MAC for op, n in ops.items()
        }
    root = by_module.get("", {})
    return ReferenceCount(
        tool=Tool.TORCH,
        total=counter.get_total_flops() // FLOPS_PER_MAC,
        by_operator=root,
        by_module=by_module,
    )
