"""The counting convention, stated once and printed under every report."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from convcost.core.cost import FLOPS_PER_MAC


@dataclass(frozen=True)
class Convention:
    name: str = "multiply-add"
    macs: str = (
        "multiply-adds of convolution, linear, matmul/bmm, einsum (the product of its index "
        "sizes), attention and recurrent layers (per step: LSTM 4·H·(I+H), GRU 3·H·(I+H), "
        "RNN H·(I+H))"
    )
    flops: str = f"{FLOPS_PER_MAC} x MACs"
    other_ops: str = (
        "bias adds, normalisation, activations, pooling, reductions, gate work and element-wise "
        "adds, counted apart from MACs, one op per element touched (batch-norm: 2); "
        "upsampling and grid sampling: one per input sample read per output element (nearest 1, "
        "linear 2, bilinear 4, bicubic 16, trilinear 8, as fvcore counts nearest and bilinear)"
    )
    params: str = "every unique parameter (tied weights once)"
    weights: str = "weight tensors of convolutions and linear layers (the paper's count)"
    bytes: str = "inputs read + output written + parameters and buffers read, x dtype size"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def short(self) -> str:
        return (
            "MACs: multiply-adds of conv, linear, matmul, attention, recurrent · FLOPs = 2×MACs · "
            "bias, norm, activation, pooling, resampling, adds are 'other ops' · params: unique "
            "(weights: conv + linear weight tensors) · bytes: activations in + out + params"
        )

    def footer(self) -> str:
        return (
            f"Convention: MACs = {self.macs}; FLOPs = {self.flops}; "
            f"other ops = {self.other_ops}; params = {self.params}; "
            f"weights = {self.weights}; bytes = {self.bytes}."
        )


CONVENTION = Convention()
