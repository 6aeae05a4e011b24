"""Shipped configs against the MobileNet paper and independent counters (torch, torchvision)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from convcost.core.analysis import Variant
from convcost.frontends.yaml_records import analyze_spec, records_from_spec
from convcost.frontends.yaml_spec import load_spec

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MOBILENET = CONFIGS / "mobilenet_v1.yaml"
ALL = sorted(CONFIGS.glob("*.yaml"))


def test_all_configs_are_found() -> None:
    names = {p.name for p in ALL}
    assert {"mobilenet_v1.yaml", "mobilenet_v2.yaml", "vgg16.yaml", "resnet50.yaml",
            "xception.yaml"} <= names


# ---------------------------------------------------------------- the paper, Table 1 / 4 / 6 / 7


def test_mobilenet_v1_table1_exact() -> None:
    t = analyze_spec(load_spec(MOBILENET)).totals
    assert t.macs == 568_740_352
    assert t.weights == 4_209_088  # conv + FC weights, the paper's parameter count
    # BN (scale + shift per channel) after every conv, and the FC bias, complete the params
    seps = [(32, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512),
            *[(512, 512)] * 5, (512, 1024), (1024, 1024)]
    bn_channels = 32 + sum(i + o for i, o in seps)
    assert t.params == 4_209_088 + 1000 + 2 * bn_channels


def _paper_close(macs: int, printed_m: int) -> bool:
    return round(macs / 1e6) == printed_m or abs(macs / 1e6 - printed_m) <= 0.01 * printed_m


# (alpha, resolution, printed Million mult-adds, printed Million params)
TABLES_6_7 = [
    (1.0, 224, 569, 4.2),
    (0.75, 224, 325, 2.6),
    (0.5, 224, 149, 1.3),
    (0.25, 224, 41, 0.5),
    (1.0, 192, 418, 4.2),
    (1.0, 160, 290, 4.2),
    (1.0, 128, 186, 4.2),
]


@pytest.mark.parametrize(("alpha", "res", "macs_m", "params_m"), TABLES_6_7)
def test_mobilenet_v1_width_and_resolution(alpha: float, res: int, macs_m: int,
                                           params_m: float) -> None:
    t = analyze_spec(load_spec(MOBILENET, width_mult=alpha, resolution=res)).totals
    assert _paper_close(t.macs, macs_m), t.macs
    assert round(t.weights / 1e6, 1) == params_m, t.weights


def test_mobilenet_v1_exact_grid_values() -> None:
    """Snapshot of the exact counts (printed values above are their roundings)."""
    got = {
        (a, r): analyze_spec(load_spec(MOBILENET, width_mult=a, resolution=r)).totals.macs
        for a, r in [(0.75, None), (0.5, None), (0.25, None), (1.0, 192), (1.0, 160)]
    }
    assert got == {
        (0.75, None): 325_400_448, (0.5, None): 149_497_088, (0.25, None): 41_030_272,
        (1.0, 192): 418_121_728, (1.0, 160): 290_675_200,
    }


def test_mobilenet_v1_width_keeps_input_and_classes() -> None:
    spec = load_spec(MOBILENET, width_mult=0.25)
    recs = records_from_spec(spec)
    assert recs[0].inputs == ((1, 3, 224, 224),)  # image channels are not scaled
    assert recs[0].op.out_channels == 8  # type: ignore[attr-defined]
    fc = next(r for r in recs if r.name == "fc")
    assert (fc.op.in_features, fc.op.out_features) == (256, 1000)  # type: ignore[attr-defined]


def test_mobilenet_v1_as_standard_conv_table4() -> None:
    a = analyze_spec(load_spec(MOBILENET), rewrite_as=Variant.STANDARD)
    assert round(a.totals.macs / 1e6) == 4867  # paper prints 4866
    assert abs(a.totals.macs / 1e6 - 4866) < 0.001 * 4866
    assert round(a.totals.weights / 1e6, 1) == 29.3
    # every dw+pw pair became one standard conv: 13 of them
    assert sum(1 for r in a.rows if "+" in r.name) == 13


def test_mobilenet_v1_record_paths() -> None:
    names = [r.name for r in records_from_spec(load_spec(MOBILENET))]
    assert names[:9] == ["conv1.conv", "conv1.bn", "conv1.act", "sep1.dw", "sep1.dw_bn",
                         "sep1.dw_act", "sep1.pw", "sep1.pw_bn", "sep1.pw_act"]
    assert "sep7.4.pw" in names and "sep7.5.pw" not in names
    assert names[-4:] == ["pool", "flatten1", "fc", "softmax"]


def test_yaml_path_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from convcost.frontends.yaml_spec import load_spec\n"
        "from convcost.frontends.yaml_records import records_from_spec\n"
        "from convcost.core.analysis import analyze_records\n"
        f"s = load_spec({str(CONFIGS / 'resnet50.yaml')!r})\n"
        "a = analyze_records(records_from_spec(s), name=s.name,"
        " input_shapes=[(1, *s.input_shape)], dtype=s.dtype)\n"
        "assert a.totals.macs == 4089184256, a.totals.macs\n"
        "import convcost.frontends.builder\n"
        "bad = [m for m in ('torch', 'fvcore', 'rich') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------- independent counters

EXPECTED = {
    # name: (MACs per image, params) -- torchvision / FlopCounterMode, Keras for Xception
    "mobilenet_v1.yaml": (568_740_352, 4_231_976),
    "mobilenet_v2.yaml": (300_774_272, 3_504_872),
    "vgg16.yaml": (15_470_264_320, 138_357_544),
    "resnet50.yaml": (4_089_184_256, 25_557_032),
    "xception.yaml": (8_357_403_496, 22_855_952),
    "mobilenet_v3_large.yaml": (216_589_760, 5_483_032),
    "mobilenet_v3_small.yaml": (56_510_400, 2_542_856),
    "efficientnet_b0.yaml": (385_814_752, 5_288_548),
}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_config_snapshot(path: Path) -> None:
    t = analyze_spec(load_spec(path)).totals
    if path.name in EXPECTED:
        assert (t.macs, t.params) == EXPECTED[path.name]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_config_against_flop_counter(path: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.frontends.builder import build_module

    batch = 2 if path.name.startswith("mobilenet") else 1
    spec = load_spec(path)
    analysis = analyze_spec(spec, batch=batch)
    module = build_module(spec).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        y = module(torch.randn(batch, *spec.input_shape))
    assert counter.get_total_flops() // 2 == analysis.totals.macs
    assert counter.get_total_flops() % 2 == 0
    assert sum(p.numel() for p in module.parameters()) == analysis.totals.params
    assert tuple(y.shape) == analysis.rows[-1].cost.output_shape == (batch, *spec.output_shape)


TORCHVISION = {"vgg16.yaml": "vgg16", "resnet50.yaml": "resnet50",
               "mobilenet_v2.yaml": "mobilenet_v2", "mobilenet_v3_large.yaml": "mobilenet_v3_large",
               "mobilenet_v3_small.yaml": "mobilenet_v3_small",
               "efficientnet_b0.yaml": "efficientnet_b0"}


@pytest.mark.parametrize("config", sorted(TORCHVISION))
def test_config_matches_torchvision(config: str) -> None:
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = getattr(tv.models, TORCHVISION[config])()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.empty(1, 3, 224, 224, device="meta"))
    t = analyze_spec(load_spec(CONFIGS / config)).totals
    assert t.macs == counter.get_total_flops() // 2
    assert t.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("alpha", [0.5, 0.75, 1.3, 1.4])
def test_mobilenet_v2_width_matches_torchvision_rounding(alpha: float) -> None:
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision")
    with torch.device("meta"):
        model = tv.models.mobilenet_v2(width_mult=alpha)
    t = analyze_spec(load_spec(CONFIGS / "mobilenet_v2.yaml", width_mult=alpha)).totals
    # torchvision widens the last conv to 1280 * alpha above 1 and keeps 1280 below
    assert t.params == sum(p.numel() for p in model.parameters())
