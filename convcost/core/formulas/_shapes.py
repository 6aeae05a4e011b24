"""Shape checks shared by the formulas."""

from __future__ import annotations

from convcost.core.ops import Shape
from convcost.errors import ShapeError


def one(inputs: tuple[Shape, ...], what: str) -> Shape:
    if len(inputs) != 1:
        raise ShapeError(f"{what} takes one input, got {len(inputs)}")
    return inputs[0]


def channels_first(shape: Shape, rank: int, channels: int, what: str) -> None:
    if len(shape) != rank:
        raise ShapeError(
            f"{what} expects a {rank}-D input (batch, channels, {rank - 2} spatial), "
            f"got shape {list(shape)}"
        )
    if shape[1] != channels:
        raise ShapeError(f"{what} expects {channels} input channels, got {shape[1]}")
