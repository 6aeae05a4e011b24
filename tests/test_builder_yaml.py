"""The spec -> nn.Module builder: names, parameters, shapes and per-layer MACs agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcost.frontends.yaml_records import analyze_spec, records_from_spec
from convcost.frontends.yaml_spec import ModelSpec, load_spec, parse_spec

torch = pytest.importorskip("torch")
from torch import Tensor, nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from convcost.build.network import build_module  # noqa: E402

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def leaf_names(module: nn.Module) -> list[str]:
    return [n for n, m in module.named_modules() if n and not list(m.children())]


def run(spec: ModelSpec, batch: int = 2) -> tuple[Tensor, FlopCounterMode]:
    module = build_module(spec).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        y = module(torch.randn(batch, *spec.input_shape))
    # FlopCounterMode keys modules by fqn under the root's class name
    assert any(k.startswith(type(module).__name__ + ".") for k in counter.get_flop_counts())
    return y, counter


def check_all(spec: ModelSpec, batch: int = 2) -> None:
    module = build_module(spec)
    records = records_from_spec(spec, batch=batch)
    assert leaf_names(module) == [r.name for r in records]
    analysis = analyze_spec(spec, batch=batch)
    y, counter = run(spec, batch)
    assert tuple(y.shape) == (batch, *spec.output_shape)
    assert counter.get_total_flops() == 2 * analysis.totals.macs
    assert sum(p.numel() for p in module.parameters()) == analysis.totals.params


def test_mobilenet_v1_per_layer_macs() -> None:
    spec = load_spec(CONFIGS / "mobilenet_v1.yaml", width_mult=0.5, resolution=160)
    batch = 2
    analysis = analyze_spec(spec, batch=batch)
    _, counter = run(spec, batch)
    root = "SpecSequence."
    per_module = {name.removeprefix(root): sum(c.values())
                  for name, c in counter.get_flop_counts().items()}
    checked = 0
    for row in analysis.rows:
        if row.cost.macs:
            assert per_module[row.name] == 2 * row.cost.macs, row.name
            checked += 1
    assert checked == 1 + 2 * 13 + 1  # conv1, 13 x (dw, pw), fc


def test_names_match_records_for_every_config() -> None:
    for path in sorted(CONFIGS.glob("*.yaml")):
        spec = load_spec(path)
        assert leaf_names(build_module(spec)) == [r.name for r in records_from_spec(spec)]


HEAD = "name: t\n"

SPECS = {
    "asymmetric same padding, stride 2": "input: [3, 9, 10]\nlayers:\n"
    "  - conv: {out: 4, kernel: 4, stride: 2, padding: same, bias: true}\n"
    "  - depthwise: {kernel: [3, 2], padding: same, stride: [2, 1]}\n",
    "1-D convs and pools": "input: [2, 33]\nlayers:\n"
    "  - conv: {out: 4, kernel: 5, stride: 2, dilation: 2, norm: batch, activation: gelu}\n"
    "  - pool: {mode: avg, kernel: 3, stride: 2, padding: 1, ceil_mode: true}\n"
    "  - separable: {out: 6, kernel: 3, multiplier: 2}\n"
    "  - global_pool: {mode: max}\n  - flatten\n  - linear: {out: 3, activation: tanh}\n",
    "3-D with adaptive pool": "input: [1, 6, 7, 8]\nlayers:\n"
    "  - conv: {out: 4, kernel: [3, 1, 3], padding: valid, groups: 1}\n"
    "  - batchnorm\n  - activation: hardswish\n"
    "  - adaptive_pool: {mode: avg, size: [2, 3, 1]}\n  - flatten\n  - dropout: 0.1\n"
    "  - linear: {out: 5, bias: false}\n",
    "transposed": "input: [4, 5, 5]\nlayers:\n"
    "  - conv: {out: 2, kernel: 3, stride: 2, padding: 1, transposed: true,"
    " output_padding: 1, bias: true}\n",
    "grouped and pointwise": "input: [8, 6, 6]\nlayers:\n"
    "  - conv: {out: 16, kernel: 3, groups: 4}\n  - pointwise: {out: 8, groups: 2, bias: true}\n",
    "branches concat and add": "input: [4, 8, 8]\nlayers:\n"
    "  - branches:\n      name: mixed\n      paths:\n"
    "        - [pointwise: {out: 4}]\n        - [conv: {out: 6, kernel: 3}, batchnorm]\n"
    "        - []\n      activation: relu\n"
    "  - branches:\n      join: add\n      paths:\n"
    "        - [pointwise: {out: 14}]\n        - [separable: {out: 14, norm: none}]\n"
    "  - residual:\n      body: [activation: relu]\n",
    "nested blocks with repeat": "input: [3, 16, 16]\nvariables: {c: 4, d: 2*c}\nlayers:\n"
    "  - block:\n      name: outer\n      repeat: 2\n      layers:\n"
    "        - block:\n            repeat: 2\n            layers:\n"
    "              - conv: {out: d, kernel: 3, name: forward}\n"
    "              - residual:\n                  body:\n"
    "                    - conv: {out: \"in // 2\", kernel: 1}\n"
    "                    - conv: {out: \"2 * in\", kernel: 3}\n",
}


@pytest.mark.parametrize("text", list(SPECS.values()), ids=list(SPECS))
def test_builder_agrees(text: str) -> None:
    check_all(parse_spec(HEAD + text))


def test_builder_module_names_for_reserved_words() -> None:
    spec = parse_spec(HEAD + SPECS["nested blocks with repeat"])
    names = leaf_names(build_module(spec))
    assert "outer.0.block1.0.forward" in names
    assert "outer.1.block1.1.residual1.body.conv2" in names
    assert "outer.1.block1.1.residual1.add" in names


def test_width_multiplier_builds() -> None:
    check_all(load_spec(CONFIGS / "mobilenet_v2.yaml", width_mult=0.35, resolution=96), 1)
