"""The model zoo held against published metadata and an independent counter.

* every torchvision model (``torchvision.models.list_models()`` over all submodules) at the
  input torchvision measured it at, against ``weights.meta["_ops"]`` (GMACs to 3 decimals) and
  ``num_params`` read from the weight enums installed with torchvision (nothing downloaded);
  detectors, which run once for real, against ``torch.utils.flop_counter`` on the same run,
  with their head counts and the count scaled to torchvision's fixed proposal counts;
* a list of timm models against ``torch.utils.flop_counter`` (on the meta device, where it
  sees attention decomposed into matrix products) and the sum of their parameter sizes.

Used by tests/test_zoo.py and by ``python -m tests.zoo_table`` (writes docs/zoo.md).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

# torchvision's published detector figures were measured with these many items reaching each
# head (proposals for the box head, detections for the mask / keypoint heads)
FIXED_HEAD_COUNTS: dict[str, dict[str, int]] = {
    "fasterrcnn_mobilenet_v3_large_fpn": {"box": 0},
    "fasterrcnn_mobilenet_v3_large_320_fpn": {"box": 0},
    "maskrcnn_resnet50_fpn_v2": {"box": 1000, "mask": 100},
    "keypointrcnn_resnet50_fpn": {"box": 1000, "keypoint": 1},
}
DEFAULT_FIXED = {"box": 1000, "mask": 0, "keypoint": 0}

TIMM_MODELS = (
    "resnet18", "resnet50", "resnext50_32x4d", "seresnet50", "efficientnet_b0",
    "tf_efficientnet_lite0", "mobilenetv2_100", "mobilenetv3_small_100",
    "mobilenetv3_large_100", "mnasnet_100", "fbnetc_100", "ghostnet_100", "rexnet_100",
    "lcnet_050", "mixnet_s", "regnetx_002", "regnety_016", "densenet121", "dla34",
    "dpn68", "cspdarknet53", "res2net50_26w_4s", "selecsls42b", "repvgg_a2", "vgg11",
    "inception_v3", "xception41", "hrnet_w18_small", "convnext_atto", "convnext_tiny",
    "convmixer_768_32", "poolformer_s12", "edgenext_xx_small", "efficientformer_l1",
    "mobilevit_xxs", "vit_tiny_patch16_224", "vit_small_patch16_224",
    "deit_tiny_patch16_224", "swin_tiny_patch4_window7_224", "cait_xxs24_224",
    "pit_ti_224", "levit_128s", "coat_lite_tiny", "eva02_tiny_patch14_224",
    "resnetblur50", "tresnet_m", "nfnet_l0",
)
"""Families: ResNet / ResNeXt / SE-ResNet, EfficientNet, MobileNet, NAS nets, GhostNet, ReXNet,
RegNet, DenseNet, DLA, DPN, CSP, Res2Net, RepVGG, VGG, Inception, Xception, HRNet, ConvNeXt,
ConvMixer, MetaFormer, EdgeNeXt, EfficientFormer, MobileViT, ViT / DeiT / Swin / CaiT / PiT /
LeViT / CoaT / EVA-02, anti-aliased (BlurPool) nets, NFNet."""

TIMM_FAST = ("resnet18", "mobilenetv3_small_100", "efficientnet_b0", "regnetx_002",
             "convnext_atto", "vit_tiny_patch16_224")
"""The default (CI) subset: six families, a squeeze-excite net and a ViT among them."""

TORCHVISION_FAST = ("resnet18", "regnet_y_400mf", "quantized_mobilenet_v2",
                    "lraspp_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn",
                    "r3d_18", "raft_small")
"""The default (CI) subset: one model of every torchvision family."""


@dataclass
class ZooResult:
    zoo: str
    name: str
    family: str = ""
    input: str = ""
    macs: int = 0
    params: int = 0
    lower_bound: bool = False
    execution: str = ""
    expected_macs: int | None = None
    """Published MACs (GMACs × 1e9) or flop_counter's MACs."""
    expected_gmacs: float | None = None
    expected_params: int | None = None
    ok: bool = False
    note: str = ""
    heads: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    @property
    def gmacs(self) -> float:
        return round(self.macs / 1e9, 3)


def torchvision_models() -> list[tuple[str, str]]:
    """(name, family) of every torchvision model."""
    import torchvision.models as tvm

    from convcost.frontends.torch_zoo import torchvision_family

    return [(name, torchvision_family(name)) for name in sorted(tvm.list_models())]


def _scaled(name: str, macs: int, heads: dict[str, Any]) -> tuple[int, str]:
    """The count at torchvision's fixed head counts, and how it was scaled."""
    fixed = {**DEFAULT_FIXED, **FIXED_HEAD_COUNTS.get(name, {})}
    total, parts = macs, []
    for head, h in heads.items():
        want = fixed.get(head, 0)
        total += (want - h["count"]) * h["macs_per_item"]
        parts.append(f"{head} {h['count']}→{want}")
    return total, ", ".join(parts)


def _trainable_norm_params(name: str) -> int:
    """Parameters of the backbone's batch norms in an untrained torchvision detector: built
    with weights, torchvision uses FrozenBatchNorm2d there (buffers, no parameters)."""
    import torch
    import torchvision.models as tvm
    from torch import nn

    from convcost.frontends.torch_zoo import torchvision_info

    if torchvision_info(name).family != "detection":
        return 0
    with torch.device("meta"):
        model = tvm.get_model(name, weights=None, weights_backbone=None)
    return sum(p.numel() for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)
               for p in m.parameters(recurse=False))


def _took(r: ZooResult, start: float, report: Any) -> Any:
    """Record what convcost said of the model and how long it took; its analysis."""
    r.seconds = time.perf_counter() - start
    a = report.analysis
    r.input = str(a.extra.get("inputs", ""))
    r.macs, r.params, r.lower_bound = a.totals.macs, a.totals.params, a.lower_bound
    r.execution = str(a.extra.get("execution", ""))
    return a


def check_torchvision(name: str) -> ZooResult:
    from convcost.api import analyze
    from convcost.frontends.torch_zoo import torchvision_info

    info = torchvision_info(name)
    r = ZooResult("torchvision", name, info.family)
    r.expected_gmacs = info.published.get("gmacs")
    r.expected_macs = info.published.get("macs")
    r.expected_params = info.published.get("params")
    start = time.perf_counter()
    detection = info.family == "detection"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = analyze(f"torchvision:{name}", reference=["torch"] if detection else [])
    except Exception as err:  # the table shows it; the test fails on it
        r.error = f"{type(err).__name__}: {err}"
        r.seconds = time.perf_counter() - start
        return r
    a = _took(r, start, report)
    if detection:
        heads = dict(a.extra.get("heads", {}))
        r.heads = heads
        torch_count = report.reference["torch"].count.total if "torch" in report.reference else None
        r.ok = torch_count == r.macs and not r.lower_bound
        frozen = _trainable_norm_params(name)
        if r.params == r.expected_params:
            frozen = 0  # this detector keeps trainable batch norms when trained too
        r.ok = r.ok and r.params - frozen == r.expected_params
        scaled, how = _scaled(name, r.macs, heads)
        r.ok = r.ok and r.expected_gmacs is not None and math.isclose(
            round(scaled / 1e9, 3), r.expected_gmacs)
        r.note = (f"flop_counter on the same run: {torch_count:,}" if torch_count is not None
                  else "no flop_counter count") + (
            f"; at torchvision's head counts ({how}): {scaled / 1e9:.3f} GMACs" if how else "")
        if frozen:
            r.note += (f"; params: {frozen:,} are batch-norm scales and shifts, which "
                       "torchvision's trained detectors freeze into buffers")
        return r
    macs_ok = r.expected_gmacs is not None and math.isclose(r.gmacs, r.expected_gmacs)
    params_ok = r.params == r.expected_params
    if info.family == "quantization":
        params_ok = True  # batch norms are folded into the int8 convolutions
        r.note = "params are the int8 model's (batch norms folded into convolutions)"
    r.ok = macs_ok and params_ok and not r.lower_bound
    return r


def check_timm(name: str) -> ZooResult:
    import timm
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from convcost.api import analyze

    r = ZooResult("timm", name, "timm")
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = analyze(f"timm:{name}")
            with torch.device("meta"):
                model = timm.create_model(name, pretrained=False).eval()
            cfg: Any = model.pretrained_cfg
            size = tuple(cfg["input_size"])
            counter = FlopCounterMode(display=False)
            # with grad enabled: flop_counter's module tracker asserts under no_grad on models
            # that take a parameter straight into the output (CaiT, PiT); meta costs nothing
            with counter:
                model(torch.empty((1, *size), device="meta"))
    except Exception as err:
        r.error = f"{type(err).__name__}: {err}"
        r.seconds = time.perf_counter() - start
        return r
    _took(r, start, report)
    r.expected_macs = counter.get_total_flops() // 2
    r.expected_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    r.ok = r.macs == r.expected_macs and r.params == r.expected_params and not r.lower_bound
    return r
