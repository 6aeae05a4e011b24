"""MobileNetV3 and EfficientNet-B0 configs against torchvision, layer by layer.

Oracles: torchvision's published ``weights.meta`` (``num_params``, ``_ops`` in GFLOPS as
multiply-adds), ``torch.utils.flop_counter`` on the model built on meta, and the torch
front-end's records of that model: the YAML and torch front-ends must give the same op, input
shapes, MACs and params for every layer (names may differ).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from convcost.core.analysis import Variant, cost_records
from convcost.core.ops import Dropout, Flatten
from convcost.core.pairing import is_depthwise
from convcost.frontends.yaml_records import analyze_spec, records_from_spec
from convcost.frontends.yaml_spec import load_spec

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

# config: (torchvision name, weights enum name, MACs, params)
MODELS = {
    "mobilenet_v3_large.yaml": ("mobilenet_v3_large", "MobileNet_V3_Large_Weights",
                                216_589_760, 5_483_032),
    "mobilenet_v3_small.yaml": ("mobilenet_v3_small", "MobileNet_V3_Small_Weights",
                                56_510_400, 2_542_856),
    "efficientnet_b0.yaml": ("efficientnet_b0", "EfficientNet_B0_Weights",
                             385_814_752, 5_288_548),
}


@pytest.mark.parametrize("config", sorted(MODELS))
def test_totals(config: str) -> None:
    _, _, macs, params = MODELS[config]
    t = analyze_spec(load_spec(CONFIGS / config)).totals
    assert (t.macs, t.params) == (macs, params)


def _torchvision(name: str) -> Any:
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    with torch.device("meta"):
        return getattr(tv.models, name)()


@pytest.mark.parametrize("config", sorted(MODELS))
def test_against_published_meta_and_flop_counter(config: str) -> None:
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    from torch.utils.flop_counter import FlopCounterMode

    name, weights, _, _ = MODELS[config]
    meta = getattr(tv.models, weights).IMAGENET1K_V1.meta
    model = _torchvision(name)
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    t = analyze_spec(load_spec(CONFIGS / config)).totals
    assert t.params == meta["num_params"] == sum(p.numel() for p in model.parameters())
    assert round(t.macs / 1e9, 3) == meta["_ops"]  # torchvision publishes GMACs as "GFLOPS"
    assert 2 * t.macs == counter.get_total_flops()


def _rows(records: list[Any]) -> list[tuple[Any, ...]]:
    """Everything but the name, for every layer that computes or holds something (flatten and
    inference dropout are views: the torch front-end ignores them)."""
    costs = cost_records(records, _float32())
    return [(r.op, r.inputs, c.output_shape, c.macs, c.params, c.other_ops)
            for r, c in zip(records, costs, strict=True)
            if not isinstance(r.op, Flatten | Dropout)]


def _float32() -> Any:
    from convcost.core.dtypes import DType

    return DType.FLOAT32


@pytest.mark.parametrize("config", sorted(MODELS))
def test_yaml_and_torch_records_agree_row_by_row(config: str) -> None:
    from convcost.frontends.torch import walk

    name = MODELS[config][0]
    ours = _rows(records_from_spec(load_spec(CONFIGS / config)))
    theirs = _rows(walk(_torchvision(name), [(1, 3, 224, 224)]).records)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"row {i}"


@pytest.mark.parametrize("config", sorted(MODELS))
def test_every_depthwise_conv_is_paired_through_squeeze_excite(config: str) -> None:
    a = analyze_spec(load_spec(CONFIGS / config))
    dws = [r for r in a.rows if is_depthwise(r.record.op)]
    assert dws and all(r.alternative is not None for r in dws)
    assert all(r.alternative.rule == "pair" for r in dws if r.alternative)
    written = a.variants[Variant.AS_WRITTEN].macs
    assert a.variants[Variant.STANDARD].macs > 5 * written


@pytest.mark.parametrize("config", sorted(MODELS))
def test_sweep_works_on_the_new_configs(config: str) -> None:
    from convcost.api import sweep

    points = sweep(str(CONFIGS / config), [1.0, 0.75], [224, 160])
    assert len(points) == 4
    full = next(p for p in points if p.width_mult == 1.0 and p.resolution == 224)
    assert full.macs == MODELS[config][2]
    assert all(p.macs < full.macs for p in points if p is not full)


@pytest.mark.parametrize(("config", "alpha"), [("mobilenet_v3_large.yaml", 0.75),
                                               ("mobilenet_v3_small.yaml", 0.75),
                                               ("mobilenet_v3_large.yaml", 1.25),
                                               ("efficientnet_b0.yaml", 0.5)])
def test_width_multiplier_matches_torchvision(config: str, alpha: float) -> None:
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    name = MODELS[config][0]
    with torch.device("meta"):
        if name.startswith("mobilenet"):
            model = getattr(tv.models, name)(width_mult=alpha)
        else:  # torchvision's EfficientNet takes its width through the block settings
            from torchvision.models.efficientnet import _efficientnet_conf

            settings, last = _efficientnet_conf("efficientnet_b0", width_mult=alpha,
                                                depth_mult=1.0)
            model = tv.models.EfficientNet(settings, 0.2, last_channel=last)
    t = analyze_spec(load_spec(CONFIGS / config, width_mult=alpha)).totals
    assert t.params == sum(p.numel() for p in model.parameters())
