"""The pairing rule on hand-written blocks; every expectation is written as arithmetic.

C = 32 channels at 16×16, 3×3 depthwise kernels, no conv bias unless said.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from convcost.core.analysis import Analysis, Rule, Variant, analyze_records, cost_records
from convcost.core.dtypes import DType
from convcost.core.ops import Activation, ActivationFn, Conv, Linear, Norm, NormFn
from convcost.core.pairing import find_pairs
from convcost.core.records import LayerRecord
from convcost.frontends.yaml_records import analyze_spec, records_from_spec
from convcost.frontends.yaml_spec import parse_spec

C, H, K = 32, 16, 3
HEAD = f"name: t\ninput: [{C}, {H}, {H}]\nlayers:\n"


def yaml(text: str) -> Analysis:
    return analyze_spec(parse_spec(HEAD + text, filename="t.yaml"))


def row(a: Analysis, name: str) -> int:
    return next(i for i, r in enumerate(a.rows) if r.name == name)


def check_alternatives_add_up(a: Analysis) -> None:
    """Each variant's totals = as written + what its alternatives change."""
    written = a.variants[Variant.AS_WRITTEN]
    for v in (Variant.STANDARD, Variant.SEPARABLE):
        alts = [r.alternative for r in a.rows if r.alternative and r.alternative.kind is v]
        assert a.variants[v].macs == written.macs + sum(x.macs - x.written_macs for x in alts)
        assert a.variants[v].params == written.params + sum(
            x.params - x.written_params for x in alts)


def test_dw_bn_act_se_pw() -> None:
    a = yaml("""
  - depthwise: {name: dw, norm: batch, activation: relu}
  - squeeze_excite: {name: se, squeeze: 8}
  - pointwise: {name: pw, out: 64}
""")
    alt = a.rows[row(a, "dw.conv")].alternative
    assert alt is not None and alt.rule is Rule.PAIR and alt.kind is Variant.STANDARD
    assert a.rows[row(a, "pw")].verdict.rule is Rule.HALF  # type: ignore[union-attr]
    # the squeeze-excite (pool, fc1, act, fc2, gate, mul) moves after the merged conv and is
    # re-costed at its 64 output channels; the dw's BN and ReLU go with the dw
    assert (alt.moved, alt.dropped) == (6, 2)
    std, se64 = K * K * C * 64 * H * H, 64 * 8 + 8 * 64
    assert alt.macs == std + se64
    assert alt.written_macs == K * K * C * H * H + C * 64 * H * H + (C * 8 + 8 * C)
    assert alt.params == K * K * C * 64 + (64 * 8 + 8) + (8 * 64 + 64)
    assert alt.written_params == (K * K * C + 2 * C + (C * 8 + 8) + (8 * C + C) + C * 64)
    assert a.variants[Variant.STANDARD].macs == std + se64
    check_alternatives_add_up(a)


def test_dw_pw_inside_a_residual() -> None:
    a = yaml("""
  - residual:
      name: res
      body:
        - depthwise: {name: dw}
        - pointwise: {name: pw, out: 32}
""")
    alt = a.rows[row(a, "res.body.dw")].alternative
    assert alt is not None and alt.rule is Rule.PAIR
    assert alt.macs == K * K * C * C * H * H
    assert alt.written_macs == K * K * C * H * H + C * C * H * H
    assert a.variants[Variant.STANDARD].macs == K * K * C * C * H * H
    check_alternatives_add_up(a)


def test_dw_with_no_partner_gets_the_dense_conv() -> None:
    # the residual add sits between the dw and the pw: the pw reads dw + x, not the dw
    a = yaml("""
  - residual: {name: res, body: [depthwise: {name: dw}]}
  - pointwise: {name: pw, out: 64}
""")
    dw = a.rows[row(a, "res.body.dw")]
    assert dw.alternative is not None and dw.alternative.rule is Rule.DENSE
    assert dw.alternative.macs == K * K * C * C * H * H
    assert dw.alternative.params == K * K * C * C
    assert dw.alternative.separable_convs == (dw.record.op,)
    assert dw.alternative.standard_convs[0].groups == 1
    assert "residual add" in dw.verdict.note  # type: ignore[union-attr]
    pw = a.rows[row(a, "pw")]
    assert pw.alternative is None and pw.verdict.rule is Rule.NONE  # type: ignore[union-attr]
    t = a.tallies[Variant.STANDARD]
    assert ("depthwise convs with no pointwise partner (its output goes to a residual add) "
            "→ dense conv", 1) in t.rewritten
    assert a.variants[Variant.STANDARD].macs == K * K * C * C * H * H + C * 64 * H * H
    check_alternatives_add_up(a)


def test_dw_feeding_two_consumers_is_not_paired() -> None:
    a = yaml("""
  - depthwise: {name: dw}
  - branches:
      name: two
      paths:
        - [pointwise: {name: a, out: 16}]
        - [pointwise: {name: b, out: 16}]
""")
    dw = a.rows[row(a, "dw")]
    assert dw.alternative is not None and dw.alternative.rule is Rule.DENSE
    assert "feeds 2 layers" in dw.verdict.note  # type: ignore[union-attr]
    assert dw.alternative.macs == K * K * C * C * H * H
    check_alternatives_add_up(a)


def test_the_same_pairs_without_data_flow_links() -> None:
    """The torch front-end gives no links: order and shapes must lead to the same pairs."""
    spec = parse_spec(HEAD + """
  - depthwise: {name: dw, norm: batch, activation: hardswish}
  - squeeze_excite: {name: se, ratio: 0.25, divisor: 8, gate: hardsigmoid}
  - pointwise: {name: pw, out: 64, norm: batch}
  - residual:
      name: res
      body:
        - pointwise: {name: expand, out: 128, norm: batch, activation: relu}
        - depthwise: {name: dw, kernel: 5, norm: batch, activation: relu}
        - pointwise: {name: project, out: 64}
""", filename="t.yaml")
    linked = records_from_spec(spec)
    bare = [replace(r, sources=None) for r in linked]
    costs = cost_records(linked, DType.FLOAT32)
    a, b = find_pairs(linked, costs), find_pairs(bare, costs)
    assert a.pairs == b.pairs and len(a.pairs) == 2 and not a.lone


def test_convnext_block_dw_layernorm_linear_channels_last() -> None:
    """dw 7×7 -> (permute) LayerNorm -> Linear over channels, as torch records it."""
    c, h = 96, 14
    dw = Conv.make(c, c, 7, padding=3, groups=c, bias=True)
    recs = [
        LayerRecord(("dw",), dw, ((1, c, h, h),)),
        LayerRecord(("ln",), Norm(NormFn.LAYER, (c,)), ((1, h, h, c),)),
        LayerRecord(("fc1",), Linear(c, 4 * c), ((1, h, h, c),)),
        LayerRecord(("act",), Activation(ActivationFn.GELU), ((1, h, h, 4 * c),)),
        LayerRecord(("fc2",), Linear(4 * c, c), ((1, h, h, 4 * c),)),
    ]
    a = analyze_records(recs, name="convnext", input_shapes=[(1, c, h, h)])
    alt = a.rows[0].alternative
    assert alt is not None and alt.rule is Rule.PAIR_LINEAR
    assert alt.macs == 7 * 7 * c * 4 * c * h * h
    assert alt.params == 7 * 7 * c * 4 * c + 4 * c  # the linear layer's bias stays
    assert alt.dropped == 1  # the LayerNorm goes with the depthwise half
    assert alt.separable_convs == (dw, Conv.make(c, 4 * c, 1, bias=True))
    check_alternatives_add_up(a)


def test_grouped_kxk_conv_gets_dw_plus_grouped_pw() -> None:
    a = yaml("  - conv: {name: g, out: 64, kernel: 3, groups: 4}\n")
    alt = a.rows[0].alternative
    assert alt is not None and alt.rule is Rule.SEPARATE_GROUPED
    assert alt.macs == K * K * C * H * H + (C // 4) * 64 * H * H
    check_alternatives_add_up(a)


def test_every_conv_of_every_config_has_an_alternative_or_a_reason() -> None:
    from convcost.frontends.yaml_spec import load_spec

    for path in sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml")):
        a = analyze_spec(load_spec(path))
        for r in a.rows:
            if isinstance(r.record.op, Conv):
                assert r.verdict is not None, (path.name, r.name)
                assert r.alternative is not None or r.verdict.rule in (Rule.HALF, Rule.NONE)
        check_alternatives_add_up(a)


@pytest.mark.parametrize("n", [3000])
def test_pairing_scales_linearly(n: int) -> None:
    """A long chain of separable blocks (n × 6 records) is paired in one pass."""
    dw = Conv.make(C, C, 3, padding=1, groups=C)
    pw = Conv.make(C, C, 1)
    recs = []
    for i in range(n):
        recs += [LayerRecord((f"b{i}", "dw"), dw, ((1, C, 8, 8),)),
                 LayerRecord((f"b{i}", "pw"), pw, ((1, C, 8, 8),))]
    p = find_pairs(recs, cost_records(recs, DType.FLOAT32))
    assert len(p.pairs) == n
    assert all(p.pairs[2 * i].tail == 2 * i + 1 for i in range(n))


# (torchvision model, dw + pw pairs through squeeze-excite, all-standard MACs / as written >)
TORCHVISION = [("efficientnet_b0", 16, 7), ("mobilenet_v3_large", 8, 6),
               ("mobilenet_v3_small", 9, 7), ("mnasnet1_0", 0, 7), ("convnext_tiny", 0, 20)]


@pytest.mark.parametrize(("name", "through_se", "times"), TORCHVISION)
def test_torchvision_mobile_nets_every_dw_has_an_alternative(name: str, through_se: int,
                                                             times: int) -> None:
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    from convcost.frontends.torch import walk

    with torch.device("meta"):
        model = getattr(tv.models, name)()
    recs = walk(model, [(1, 3, 224, 224)]).records
    a = analyze_records(recs, name=name, input_shapes=[(1, 3, 224, 224)])
    dws = [r for r in a.rows if isinstance(r.record.op, Conv)
           and r.record.op.groups == r.record.op.in_channels > 1]
    assert dws and all(r.alternative is not None for r in dws)
    assert all(r.alternative.rule in (Rule.PAIR, Rule.PAIR_LINEAR) for r in dws
               if r.alternative)
    assert sum(1 for r in dws if r.alternative and r.alternative.moved) == through_se
    written = a.variants[Variant.AS_WRITTEN].macs
    assert a.variants[Variant.STANDARD].macs > times * written
    check_alternatives_add_up(a)
