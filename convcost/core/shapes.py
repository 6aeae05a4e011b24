"""Shape rules: how many outputs a sliding window gives along one dimension."""

from __future__ import annotations

from convcost.errors import ShapeError


def window_output(
    size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int,
    *, ceil_mode: bool = False,
) -> int:
    """Outputs of a convolution or pooling window along one dimension (torch's rule)."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad_before + pad_after
    if ceil_mode:
        out = -(-(padded - span) // stride) + 1
        # torch: the last window must start inside the input or the left padding
        if (out - 1) * stride >= size + pad_before:
            out -= 1
    else:
        out = (padded - span) // stride + 1
    if out < 1:
        raise ShapeError(
            f"kernel {kernel}"
            + (f" (dilation {dilation}, span {span})" if dilation > 1 else "")
            + f" is larger than the padded input {padded} (input {size})"
        )
    return out


def transposed_output(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> int:
    """Outputs of a transposed convolution along one dimension (torch's rule)."""
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ShapeError(
            f"transposed convolution gives no output: input {size}, kernel {kernel}, "
            f"stride {stride}, padding {padding}"
        )
    return out
