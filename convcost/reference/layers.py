"""Reference counts for single layers: build the real torch layers of a comparison and count
each variant with fvcore (and torch's counter)."""

from __future__ import annotations

from convcost.core.cost import numel
from convcost.core.rewrite import Comparison
from convcost.errors import ReferenceSkipped
from convcost.reference.counts import ReferenceCount, Tool
from convcost.reference.model import memory_reason
from convcost.reference.reconcile import Agreement, reconcile

# Reference counting runs the layer for real; past this many input elements it is skipped.
MAX_REFERENCE_ELEMENTS = 1 << 27


def compare_reference(
    comparison: Comparison, tools: tuple[Tool, ...] = (Tool.FVCORE,)
) -> dict[str, dict[str, Agreement]]:
    """tool -> variant -> agreement of the tool's count with ours."""
    if numel(comparison.input_shape) > MAX_REFERENCE_ELEMENTS:
        raise ReferenceSkipped(
            f"reference skipped: an input of {numel(comparison.input_shape):,} elements is too "
            "large to run"
        )
    size = max(1, comparison.dtype.itemsize)
    variants = (comparison.standard, comparison.depthwise, comparison.pointwise)
    estimate = sum(c.bytes * 4 // size for c in variants)  # params and activations
    reason = memory_reason(estimate)
    if reason:
        raise ReferenceSkipped(reason)
    import torch
    from torch import nn

    from convcost.build.registry import layer_for
    from convcost.reference.fvcore_count import fvcore_count
    from convcost.reference.torch_count import torch_count

    dw = layer_for(comparison.depthwise_op)
    pw = layer_for(comparison.pointwise_op)
    modules = {
        "standard": layer_for(comparison.standard_op),
        "depthwise": dw,
        "pointwise": pw,
        "separable": nn.Sequential(dw, pw),
    }
    inputs = {
        "standard": comparison.input_shape,
        "depthwise": comparison.input_shape,
        "pointwise": comparison.depthwise.output_shape,
        "separable": comparison.input_shape,
    }
    ours = {
        "standard": comparison.standard.macs,
        "depthwise": comparison.depthwise.macs,
        "pointwise": comparison.pointwise.macs,
        "separable": comparison.separable.macs,
    }
    out: dict[str, dict[str, Agreement]] = {}
    with torch.no_grad():
        for tool in tools:
            per_variant: dict[str, Agreement] = {}
            for variant, module in modules.items():
                module.eval()
                x = torch.zeros(inputs[variant])
                count: ReferenceCount = (
                    fvcore_count(module, (x,)) if tool is Tool.FVCORE else torch_count(module, (x,))
                )
                per_variant[variant] = reconcile(
                    str(tool), ours[variant], count.by_operator, unsupported=count.unsupported
                )
            out[str(tool)] = per_variant
    return out
