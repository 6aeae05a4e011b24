"""Handlers of attention: scaled dot-product attention in its fused kernels, and torch's fused
multi-head attention and transformer encoder layer fast paths, costed to the same MACs and
parameters as the unfused path."""

from __future__ import annotations

from typing import Any

from convcost.core.ops import (
    Activation,
    ActivationFn,
    Add,
    Attention,
    Linear,
    Norm,
    NormFn,
    Shape,
)
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.registry import Unsupported, handles
from convcost.frontends.torch.state import WalkState
from convcost.frontends.torch.tables import SDPA


@handles(*SDPA)
def _sdpa(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    q, k, v = a["query"], a["key"], a["value"]
    shapes = [tensor_shape(q), tensor_shape(k), tensor_shape(v)]
    w.emit(Attention(causal=bool(a.get("is_causal") or False)), shapes, "attention")


@handles("aten._flash_attention_forward", "aten._efficient_attention_forward")
def _flash(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    q, k, v = a["query"], a["key"], a["value"]
    if q.dim() != 4 or a.get("cum_seq_q", a.get("cu_seqlens_q")) is not None:
        raise Unsupported  # packed variable-length batches: shapes are data
    swap = [(int(t.shape[0]), int(t.shape[2]), int(t.shape[1]), int(t.shape[3]))
            for t in (q, k, v)]
    causal = bool(a.get("is_causal") or a.get("custom_mask_type") or False)
    w.emit(Attention(causal=causal), swap, "attention")


def _projections(
    w: WalkState, qkv_weight: Any, qkv_bias: Any, q: Any, k: Any, v: Any, embed: int
) -> None:
    """The input projections of fused attention, as the unfused path runs them."""
    has_bias = qkv_bias is not None
    if q is k and k is v:
        w.emit(Linear(embed, 3 * embed, has_bias), [tensor_shape(q)], "in_proj", qkv_weight,
               [qkv_bias])
        return
    parts = [(q, 0, 1), (k, 1, 2)] if k is v else [(q, 0, 1), (k, 1, 1), (v, 2, 1)]
    for x, first, n in parts:
        w.emit(Linear(embed, n * embed, has_bias), [tensor_shape(x)], "in_proj", qkv_weight,
               [qkv_bias], rows=(first * embed, n * embed))


def _heads(shape: Shape, heads: int) -> Shape:
    b, length, e = shape
    return (b, heads, length, e // heads)


@handles("aten._native_multi_head_attention")
def _native_mha(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    q, k, v = a["query"], a["key"], a["value"]
    if q.dim() != 3 or k.dim() != 3 or v.dim() != 3:
        raise Unsupported
    embed, heads = int(a["embed_dim"]), int(a["num_head"])
    _projections(w, a["qkv_weight"], a["qkv_bias"], q, k, v, embed)
    shapes = [_heads(tensor_shape(t), heads) for t in (q, k, v)]
    w.emit(Attention(), shapes, "attention")
    out_shape = (*tensor_shape(q)[:-1], embed)
    w.emit(Linear(embed, int(a["proj_weight"].shape[0]), a["proj_bias"] is not None),
           [out_shape], "out_proj", a["proj_weight"], [a["proj_bias"]])


@handles("aten._transformer_encoder_layer_fwd")
def _encoder_layer(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    src = a["src"]
    if src.dim() != 3:
        raise Unsupported
    x = tensor_shape(src)
    embed, heads = int(a["embed_dim"]), int(a["num_heads"])
    ffn = int(a["ffn_weight_1"].shape[0])

    def norm(i: int) -> None:
        weight, bias = a[f"norm_weight_{i}"], a[f"norm_bias_{i}"]
        op = Norm(NormFn.LAYER, (embed,), weight is not None, bias is not None)
        w.emit(op, [x], "layer_norm", weight, [bias])

    if a["norm_first"]:
        norm(1)
    w.emit(Linear(embed, 3 * embed, a["qkv_bias"] is not None), [x], "in_proj",
           a["qkv_weight"], [a["qkv_bias"]])
    w.emit(Attention(), [_heads(x, heads)] * 3, "attention")
    w.emit(Linear(embed, embed, a["proj_bias"] is not None), [x], "out_proj",
           a["proj_weight"], [a["proj_bias"]])
    w.emit(Add(), [x, x], "add")
    norm(2 if a["norm_first"] else 1)
    w.emit(Linear(embed, ffn, a["ffn_bias_1"] is not None), [x], "linear1",
           a["ffn_weight_1"], [a["ffn_bias_1"]])
    fn = ActivationFn.GELU if a["use_gelu"] else ActivationFn.RELU
    w.emit(Activation(fn), [(*x[:-1], ffn)], str(fn))
    w.emit(Linear(ffn, embed, a["ffn_bias_2"] is not None), [(*x[:-1], ffn)], "linear2",
           a["ffn_weight_2"], [a["ffn_bias_2"]])
    w.emit(Add(), [x, x], "add")
    if not a["norm_first"]:
        norm(2)
