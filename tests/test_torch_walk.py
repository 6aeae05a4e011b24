"""The torch front-end's walk: exact counts written as arithmetic, attention in all its
paths, tied weights, uncounted ops, the meta path for a 7B-class model, and the model left as
it was found."""

from __future__ import annotations

import math
import resource
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convcost.core.analysis import Variant
from convcost.core.ops import Attention, BatchNorm, Conv, Linear, Matmul
from convcost.frontends.torch import IGNORED, ROOT, walk
from convcost.frontends.torch_api import analyze_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.models.llm import LLM
from tests.models.mobilenet_v1 import MobileNetV1


def meta(factory: type[nn.Module], *args: object) -> nn.Module:
    with torch.device("meta"):
        return factory(*args)


# ---------------------------------------------------------------- MobileNetV1


@pytest.fixture(scope="module")
def mobilenet() -> nn.Module:
    return meta(MobileNetV1)


def test_mobilenet_v1_matches_the_paper(mobilenet: nn.Module) -> None:
    a = analyze_model(mobilenet, (1, 3, 224, 224))
    assert a.totals.macs == 568_740_352
    assert a.totals.weights == 4_209_088
    assert not a.uncounted and not a.lower_bound
    # every parameter is used by a record, and params add up to the model's own count
    assert a.extra["params_uncovered"] == []
    assert a.totals.params == a.extra["params_unique"] == sum(
        p.numel() for p in mobilenet.parameters()
    )
    assert a.buffers_total == sum(b.numel() for b in mobilenet.buffers())
    # the paper's "Conv MobileNet": every dw+pw pair as one standard convolution
    std = a.variants[Variant.STANDARD]
    assert (std.macs, std.weights) == (4_867_293_184, 29_281_120)
    rewritten = analyze_model(mobilenet, (1, 3, 224, 224), rewrite_as=Variant.STANDARD)
    assert (rewritten.totals.macs, rewritten.totals.weights) == (4_867_293_184, 29_281_120)


def test_mobilenet_paths_are_module_names(mobilenet: nn.Module) -> None:
    rows = analyze_model(mobilenet, (1, 3, 224, 224)).rows
    names = [r.name for r in rows]
    assert names[:4] == ["features.0.0", "features.0.1", "features.0.2", "features.1.0"]
    assert names[-2:] == ["pool", "fc"]
    assert len(set(names)) == len(names)
    first = rows[0].record
    assert first.path == ("features", "0", "0")
    assert first.op == Conv.make(3, 32, 3, stride=2, padding=1)


def test_mobilenet_same_records_as_the_yaml_front_end(mobilenet: nn.Module) -> None:
    yaml_spec = pytest.importorskip("convcost.frontends.yaml_spec")
    yaml_records = pytest.importorskip("convcost.frontends.yaml_records")
    config = Path(__file__).resolve().parent.parent / "configs" / "mobilenet_v1.yaml"
    if not config.exists():
        pytest.skip("no configs/mobilenet_v1.yaml")
    spec = yaml_spec.load_spec(str(config))
    kinds = (Conv, BatchNorm, Linear)
    ours = [(r.op, r.inputs) for r in walk(mobilenet, [(1, 3, 224, 224)]).records
            if isinstance(r.op, kinds)]
    theirs = [(r.op, r.inputs) for r in yaml_records.records_from_spec(spec, batch=1)
              if isinstance(r.op, kinds)]
    assert ours == theirs


def test_real_cpu_model_counts_like_meta() -> None:
    real = MobileNetV1(num_classes=10)
    a = analyze_model(real, (2, 3, 224, 224))  # fake tensors: no arithmetic, no memory
    b = analyze_model(meta(MobileNetV1, 10), (2, 3, 224, 224))
    assert a.totals == b.totals
    assert [r.record for r in a.rows] == [r.record for r in b.rows]


# ---------------------------------------------------------------- attention


class SelfAttention(nn.Module):
    def __init__(self, embed: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(embed, heads, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.attn(x, x, x)[0]


def mha_macs(b: int, length: int, e: int, h: int) -> int:
    in_proj = b * length * e * 3 * e
    scores = b * h * length * length * (e // h)  # q·kᵀ
    mix = b * h * length * length * (e // h)  # attn·v
    out_proj = b * length * e * e
    return in_proj + scores + mix + out_proj


def test_multihead_attention_fast_and_slow_paths_agree() -> None:
    model = SelfAttention(16, 4)  # real cpu weights: the fused fast path is possible
    fast = analyze_model(model, (2, 5, 16))  # eval + no_grad: _native_multi_head_attention
    slow = analyze_model(model, (2, 5, 16), grad=True)  # unfused: addmm, bmm, softmax, bmm
    on_meta = analyze_model(meta(SelfAttention, 16, 4), (2, 5, 16))
    expected = mha_macs(2, 5, 16, 4)
    assert fast.totals.macs == slow.totals.macs == on_meta.totals.macs == expected
    params = sum(p.numel() for p in model.parameters())
    assert fast.totals.params == slow.totals.params == params == 4 * 16 * 16 + 4 * 16
    fast_ops = {type(r.record.op) for r in fast.rows}
    assert Attention in fast_ops and Matmul not in fast_ops  # the fused path was taken
    assert Attention not in {type(r.record.op) for r in slow.rows}
    names = [r.name for r in fast.rows]
    assert names == ["attn.in_proj", "attn.attention", "attn.out_proj"]
    assert all(r.record.op.kind != "attention" or r.cost.params == 0 for r in fast.rows)


def test_transformer_encoder_layer_fast_and_slow_paths_agree() -> None:
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    fast = analyze_model(layer, (2, 6, 16))  # _transformer_encoder_layer_fwd
    slow = analyze_model(layer, (2, 6, 16), grad=True)
    b, n, e, f = 2, 6, 16, 32
    expected = mha_macs(b, n, e, 4) + b * n * e * f * 2
    assert fast.totals.macs == slow.totals.macs == expected
    assert fast.totals.params == slow.totals.params == sum(p.numel() for p in layer.parameters())
    assert not fast.uncounted and not slow.uncounted


class HandAttention(nn.Module):
    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        return scores.softmax(-1) @ v


class Sdpa(nn.Module):
    def __init__(self, e: int) -> None:
        super().__init__()
        self.q = nn.Linear(e, e, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        b, n, e = x.shape
        q = self.q(x).view(b, n, 2, e // 2).transpose(1, 2)
        return F.scaled_dot_product_attention(q, q, q)


def test_hand_written_attention() -> None:
    b, h, length, s, e, ev = 2, 3, 5, 7, 8, 4
    a = analyze_model(HandAttention(), [(b, h, length, e), (b, h, s, e), (b, h, s, ev)])
    assert a.totals.macs == b * h * length * s * e + b * h * length * s * ev
    assert not a.uncounted


def test_scaled_dot_product_attention_fused_and_math() -> None:
    b, n, e, h = 2, 9, 16, 2
    expected = b * n * e * e + b * h * n * n * (e // h) * 2
    fused = analyze_model(Sdpa(e), (b, n, e))  # cpu tensors: the flash kernel for cpu
    math_path = analyze_model(meta(Sdpa, e), (b, n, e))  # meta: decomposed into bmm
    assert fused.totals.macs == math_path.totals.macs == expected
    assert Attention in {type(r.record.op) for r in fused.rows}


# ---------------------------------------------------------------- parameters


class TiedLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 100, bias=False)
        self.head.weight = self.embed.weight
        self.register_buffer("mask", torch.ones(4, 4))

    def forward(self, ids: Tensor) -> Tensor:
        return self.head(self.norm(self.embed(ids)))


def test_tied_weights_counted_once() -> None:
    model = TiedLM()
    a = analyze_model(model, "1,4:int64")
    unique = 100 * 16 + 2 * 16
    assert a.totals.params == a.extra["params_unique"] == unique
    head = [r for r in a.rows if r.name == "head"]
    assert len(head) == 1 and head[0].record.tied and head[0].cost.params == 0
    assert a.totals.macs == 4 * 16 * 100
    assert a.buffers_total == 16


def test_module_called_twice_counts_macs_twice_params_once() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x: Tensor) -> Tensor:
            return self.fc(self.fc(x))

    a = analyze_model(meta(Twice), (3, 8))
    assert a.totals.macs == 2 * 3 * 8 * 8
    assert a.totals.params == 8 * 8 + 8
    assert [r.name for r in a.rows] == ["fc", "fc#2"]


# ---------------------------------------------------------------- no silent zeros


class Spectral(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.fft.rfft(self.conv(x))
        return y.abs().cumsum(-1)


def test_uncosted_ops_are_listed_and_flag_a_lower_bound() -> None:
    a = analyze_model(meta(Spectral), (1, 2, 32))
    listed = {u.op: u for u in a.uncounted}
    assert "aten._fft_r2c" in listed and "aten.cumsum" not in listed  # a scan is costed
    assert listed["aten._fft_r2c"].count == 1
    assert listed["aten._fft_r2c"].modules == (ROOT,)
    assert a.lower_bound
    assert a.totals.macs == 1 * 4 * 30 * 2 * 3  # the conv is still counted
    assert not set(listed) & IGNORED


def test_ignored_ops_are_reported_not_uncounted() -> None:
    class Views(nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x.view(2, -1).t().contiguous().unsqueeze(0).permute(2, 1, 0).clone()

    w = walk(Views(), [(2, 6)])
    assert w.uncounted == [] and w.records == []
    assert w.ignored and set(w.ignored) <= IGNORED


# ---------------------------------------------------------------- a 7B-class model on meta


def test_seven_billion_parameter_model_on_meta() -> None:
    vocab, d, layers, heads, hidden, n = 32000, 4096, 32, 32, 11008, 128
    model = meta(LLM, vocab, d, layers, heads, hidden)
    a = analyze_model(model, f"1,{n}:int64")
    per_layer = 4 * n * d * d + 2 * heads * n * n * (d // heads) + 3 * n * d * hidden
    assert a.totals.macs == layers * per_layer + n * d * vocab
    params = 2 * vocab * d + layers * (4 * d * d + 3 * d * hidden + 2 * d) + d
    assert a.extra["params_unique"] == params == a.totals.params
    assert params > 6_700_000_000
    assert not a.uncounted
    # it never materialised the 27 GB of float32 weights
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    assert peak < 8 * 1024**3


# ---------------------------------------------------------------- leave the model as found


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.attn = SelfAttention(8, 2)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: Tensor) -> Tensor:
        y = self.drop(self.bn(self.conv(x))).flatten(2).transpose(1, 2)
        return self.fc(self.attn(y))


def _state(model: nn.Module) -> dict[str, object]:
    from torch.nn.modules import module as mm

    return {
        "sd": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "keys": list(model.state_dict().keys()),
        "training": [m.training for m in model.modules()],
        "hooks": [
            (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
            for m in model.modules()
        ],
        "global": (len(mm._global_forward_hooks), len(mm._global_forward_pre_hooks)),
        "devices": {p.device for p in model.parameters()},
        "grad": [p.requires_grad for p in model.parameters()],
        "grads": [p.grad for p in model.parameters()],
    }


@pytest.mark.parametrize("grad", [False, True])
def test_model_left_as_found(grad: bool) -> None:
    model = Mixed()
    model.train()
    model.attn.eval()  # mixed modes must come back exactly
    before = _state(model)
    analysis = analyze_model(model, (2, 3, 6, 6), grad=grad)
    assert analysis.totals.macs > 0
    after = _state(model)
    sd_before, sd_after = before.pop("sd"), after.pop("sd")
    assert before == after
    assert isinstance(sd_before, dict) and isinstance(sd_after, dict)
    for key, value in sd_before.items():
        assert torch.equal(value, sd_after[key]), key
    assert model.bn.num_batches_tracked.item() == 0  # no training-mode forward ran
    assert all(g is None for g in after["grads"])  # type: ignore[union-attr]


def test_model_left_as_found_after_a_failed_forward() -> None:
    from torch.nn.modules import module as mm

    model = Mixed()
    hooks = (len(mm._global_forward_hooks), len(mm._global_forward_pre_hooks))
    with pytest.raises(Exception, match="forward failed"):
        walk(model, [(2, 4, 6, 6)])
    assert model.training and all(m.training for m in model.modules())
    assert (len(mm._global_forward_hooks), len(mm._global_forward_pre_hooks)) == hooks


class TiedDecoderWithBias(nn.Module):
    """BERT's masked-LM head: the decoder's weight is the embedding table, its bias its own."""

    def __init__(self, vocab: int = 50, dim: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.decoder = nn.Linear(dim, vocab)
        self.decoder.weight = self.embed.weight

    def forward(self, ids: Tensor) -> Tensor:
        return self.decoder(self.embed(ids))


def test_tied_weight_with_its_own_bias_keeps_the_bias() -> None:
    model = TiedDecoderWithBias()
    a = analyze_model(model, "1,3:int64")
    assert a.totals.params == sum(p.numel() for p in model.parameters()) == 50 * 8 + 50
    decoder = next(r for r in a.rows if r.name == "decoder")
    assert decoder.cost.weights == 0 and decoder.cost.bias == 50
