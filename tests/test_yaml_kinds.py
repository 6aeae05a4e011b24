"""The mobile-network YAML kinds: squeeze_excite, join: mul, channel_shuffle, upsample, grouped
pointwise halves, activation aliases. Oracles: arithmetic, and the torch front-end's records
of the module the builder makes from the same spec."""

from __future__ import annotations

from typing import Any

import pytest

from convcost.core.analysis import cost_records
from convcost.core.dtypes import DType
from convcost.core.ops import Activation, ActivationFn, Conv, Elementwise
from convcost.frontends.yaml_records import analyze_spec, records_from_spec
from convcost.frontends.yaml_spec import parse_spec
from convcost.ops import ChannelShuffle

DOC = """name: kinds
input: [8, 16, 16]
layers:
  - conv: {out: 16, kernel: 3, norm: batch, activation: hswish}
  - squeeze_excite: {name: se, ratio: 0.25, gate: hard_sigmoid}
  - branches:
      name: gate
      join: mul
      paths:
        - [adaptive_pool: {size: 1}, pointwise: {out: 16, bias: true}, activation: sigmoid]
        - []
  - separable: {name: sep, out: 32, groups: 4, activation: swish}
  - upsample: {name: up, mode: bilinear, scale: 2}
  - upsample: {name: up2, size: [40, 36]}
"""


def test_squeeze_excite_as_arithmetic() -> None:
    a = analyze_spec(parse_spec(DOC))
    rows = {r.name: r for r in a.rows}
    fc1, fc2 = rows["se.squeeze.fc1"], rows["se.squeeze.fc2"]
    # squeeze width 16 × 0.25 = 4; both 1×1 convs carry a bias
    assert fc1.record.op == Conv.make(16, 4, 1, bias=True)
    assert (fc1.cost.macs, fc1.cost.params) == (16 * 4, 16 * 4 + 4)
    assert (fc2.cost.macs, fc2.cost.params) == (4 * 16, 4 * 16 + 16)
    assert rows["se.squeeze.gate"].record.op == Activation(ActivationFn.HARDSIGMOID)
    mul = rows["se.mul"]
    assert mul.record.op == Elementwise("mul")
    assert mul.record.inputs == ((1, 16, 1, 1), (1, 16, 16, 16))
    assert mul.cost.other_ops == 16 * 16 * 16
    assert rows["sep.pw"].record.op == Conv.make(16, 32, 1, groups=4)
    assert rows["sep.pw_act"].record.op == Activation(ActivationFn.SILU)
    assert rows["up"].cost.output_shape == (1, 32, 32, 32)
    assert rows["up"].cost.other_ops == 32 * 32 * 32 * 4  # bilinear: 4 samples per output
    assert rows["up2"].cost.output_shape == (1, 32, 40, 36)


def test_squeeze_widths() -> None:
    def width(opts: str) -> int:
        spec = parse_spec(f"input: [96, 4, 4]\nlayers:\n  - squeeze_excite: {opts}\n")
        return records_from_spec(spec)[1].op.out_channels  # type: ignore[attr-defined]

    assert width("{reduce: 24}") == 96 // 24
    assert width("{squeeze: 'in // 8'}") == 12
    assert width("{ratio: 0.25, divisor: 8}") == 24
    assert width("{ratio: 0.1, divisor: 8}") == 16  # _make_divisible(9.6, 8)
    assert width("null") == 24


def test_channel_shuffle_moves_data_only() -> None:
    spec = parse_spec("input: [12, 5, 5]\nlayers:\n  - channel_shuffle: {groups: 3}\n")
    (rec,) = records_from_spec(spec)
    (cost,) = cost_records([rec], DType.FLOAT32)
    assert rec.op == ChannelShuffle(3)
    assert (cost.macs, cost.other_ops, cost.output_shape) == (0, 0, (1, 12, 5, 5))
    assert cost.bytes == 2 * 12 * 5 * 5 * 4  # read once, written once


def test_the_built_module_gives_the_same_records_to_the_torch_front_end() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.build.network import build_module
    from convcost.frontends.torch import walk

    spec = parse_spec(DOC)
    ours = records_from_spec(spec)
    module = build_module(spec).eval()
    theirs = walk(module, [(1, 8, 16, 16)]).records

    def rows(recs: list[Any]) -> list[tuple[Any, ...]]:
        costs = cost_records(recs, DType.FLOAT32)
        return [(r.op, r.inputs, c.macs, c.params, c.other_ops) for r, c in
                zip(recs, costs, strict=True)]

    assert rows(ours) == rows(theirs)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.randn(1, 8, 16, 16))
    a = analyze_spec(spec)
    assert counter.get_total_flops() == 2 * a.totals.macs
    assert sum(p.numel() for p in module.parameters()) == a.totals.params
