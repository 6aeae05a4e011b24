"""Which operators the references count as multiply-adds: core's products, and what an op
module of convcost.ops says of its own op (:func:`counted_as_macs`). Kept apart from
:mod:`.reconcile` so that an op module can say it without importing the reconciliation."""

from __future__ import annotations

from convcost import catalog

_MAC_OPERATORS = {
    "conv", "convolution", "_convolution", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "linear", "addmm", "mm", "bmm", "baddbmm", "matmul",
    "scaled_dot_product_attention", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_flash_attention_for_cpu", "_flash_attention_forward",
    "_efficient_attention_forward",
}


def counted_as_macs(*operators: str) -> None:
    """Say that the references count these operators (their names without ``aten::``) as
    multiply-adds, as convcost counts the op."""
    _MAC_OPERATORS.update(operators)


def mac_operators() -> frozenset[str]:
    catalog.load()
    return frozenset(_MAC_OPERATORS)
