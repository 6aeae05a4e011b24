"""Costs of int8 quantized models (``torch.ao`` quantized modules, torchvision's
``quantize=True`` models).

Quantized tensors exist only on the cpu, so these models run for real (see
:mod:`convcost.frontends.torch_run`). Their convolutions and linear layers are ``quantized::``
ops whose weights are packed: the shapes, stride, padding, dilation and groups are read from the
packed parameters, and each becomes the same :class:`~convcost.core.ops.Conv` or
:class:`~convcost.core.ops.Linear` record as its float counterpart — an int8 multiply-add is
counted as one MAC, as torchvision's published figures do. Parameters are what the int8 model
holds: batch norms are folded into the convolutions, so there are fewer of them than in the
float model. Quantized element-wise ops, pooling and concatenation are costed as their float
forms; quantising and dequantising are casts (no arithmetic).

Importing this module registers the handlers (once) with the walker's registry.
"""

from __future__ import annotations

from typing import Any

from convcost.core.ops import Conv, Linear

_REGISTERED = False


def _delegate(target: str, rename: dict[str, str]) -> Any:
    from convcost.frontends.torch.registry import handler_for, packet

    def handle(state: Any, name: str, a: dict[str, Any], out: Any) -> None:
        handler = handler_for(packet(target))
        if handler is None:
            from convcost.frontends.torch.registry import Unsupported

            raise Unsupported(name)
        args = {rename.get(k, k): v for k, v in a.items()}
        handler(state, target, args, out)

    return handle


def _packed(a: dict[str, Any]) -> Any:
    for key in ("packed_weight", "W_prepack", "weight", "packed_params"):
        if a.get(key) is not None:
            return a[key]
    from convcost.frontends.torch.registry import Unsupported

    raise Unsupported("no packed weight")


def _conv(state: Any, name: str, a: dict[str, Any], out: Any) -> None:
    from convcost.frontends.torch.args import tensor_shape

    packed = _packed(a)
    weight, bias = packed.unpack()
    groups = int(packed.groups())
    transposed = bool(packed.transpose())
    if transposed:
        cin, cout = int(weight.shape[0]), int(weight.shape[1]) * groups
    else:
        cin, cout = int(weight.shape[1]) * groups, int(weight.shape[0])
    op = Conv(
        in_channels=cin,
        out_channels=cout,
        kernel=tensor_shape(weight)[2:],
        stride=tuple(int(s) for s in packed.stride()),
        padding=tuple((int(p), int(p)) for p in packed.padding()),
        dilation=tuple(int(d) for d in packed.dilation()),
        groups=groups,
        bias=bias is not None,
        transposed=transposed,
        output_padding=tuple(int(p) for p in packed.output_padding()) if transposed else (),
    )
    x = next(v for v in a.values() if hasattr(v, "shape"))
    state.emit(op, [tensor_shape(x)], "conv")


def _linear(state: Any, name: str, a: dict[str, Any], out: Any) -> None:
    from convcost.frontends.torch.args import tensor_shape

    packed = _packed(a)
    weight, bias = packed.unpack()
    x = next(v for v in a.values() if hasattr(v, "shape"))
    shape = tensor_shape(x)
    op = Linear(int(weight.shape[1]), int(weight.shape[0]), bias=bias is not None)
    state.emit(op, [shape if len(shape) >= 2 else (1, *shape)], "linear")


def _cast(state: Any, name: str, a: dict[str, Any], out: Any) -> None:
    state.ignore(name)


def register() -> None:
    """Register the quantized handlers with the walker (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from convcost.frontends.torch.registry import handles, packet, registered

    registered()  # the walker's own handlers first
    table: dict[str, Any] = {}
    for dims in ("1d", "2d", "3d"):
        for suffix in ("", "_relu"):
            table[f"quantized.conv{dims}{suffix}"] = _conv
        table[f"quantized.conv_transpose{dims}"] = _conv
    for suffix in ("", "_relu", "_dynamic", "_relu_dynamic"):
        table[f"quantized.linear{suffix}"] = _linear
    binary = {"qa": "self", "qb": "other"}
    for op in ("add", "add_relu", "add_out", "add_relu_out"):
        table[f"quantized.{op}"] = _delegate("aten.add", binary)
    for op in ("mul", "mul_relu"):
        table[f"quantized.{op}"] = _delegate("aten.mul", binary)
    for op in ("add_scalar", "add_scalar_relu"):
        table[f"quantized.{op}"] = _delegate("aten.add", {"qa": "self", "b": "other"})
    for op in ("mul_scalar", "mul_scalar_relu"):
        table[f"quantized.{op}"] = _delegate("aten.mul", {"qa": "self", "b": "other"})
    table["quantized.cat"] = _delegate("aten.cat", {"qx": "tensors"})
    table["quantized.cat_relu"] = _delegate("aten.cat", {"qx": "tensors"})
    table["quantized.hardswish"] = _delegate("aten.hardswish", {"input": "self"})
    table["quantized.sigmoid"] = _delegate("aten.sigmoid", {"qx": "self"})
    table["aten.quantized_max_pool1d"] = _delegate("aten.max_pool1d", {})
    table["aten.quantized_max_pool2d"] = _delegate("aten.max_pool2d", {})
    table["aten.quantized_max_pool3d"] = _delegate("aten.max_pool3d", {})
    for op in ("aten.quantize_per_tensor", "aten.quantize_per_channel", "aten.dequantize",
               "aten.q_scale", "aten.q_zero_point", "aten.int_repr",
               "aten.quantize_per_tensor_dynamic"):
        table[op] = _cast
    have = set(registered())
    for name, fn in table.items():
        key = packet(name)
        if key is not None and key not in have:
            handles(name)(fn)
    _REGISTERED = True
