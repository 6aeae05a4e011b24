"""Reference counts for a whole model, reconciled per layer (or block) and in total."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from convcost.core.analysis import Analysis
from convcost.reference.counts import ReferenceCount, Tool
from convcost.reference.reconcile import Agreement, reconcile


@dataclass(frozen=True)
class ModelAgreement:
    tool: Tool
    count: ReferenceCount
    total: Agreement
    layers: dict[str, Agreement] = field(default_factory=dict)
    """Row name (leaf or collapsed block) -> agreement, for names the reference knows."""


def agreement_for(
    tool: Tool, count: ReferenceCount, analysis: Analysis, names_macs: Sequence[tuple[str, int]]
) -> ModelAgreement:
    layers = {
        name: reconcile(str(tool), macs, count.by_module[name])
        for name, macs in names_macs
        if name in count.by_module
    }
    total = reconcile(str(tool), analysis.totals.macs, count.by_operator,
                      unsupported=count.unsupported)
    return ModelAgreement(tool, count, total, layers)


def count_module(tool: Tool, module: Any, inputs: Sequence[Any]) -> ReferenceCount:
    """Count a real (CPU) module with fvcore or torch's counter, in eval mode, no grad."""
    import torch

    from convcost.reference.fvcore_count import fvcore_count
    from convcost.reference.torch_count import torch_count

    with torch.no_grad():
        if tool is Tool.FVCORE:
            return fvcore_count(module, inputs)
        return torch_count(module, inputs)
