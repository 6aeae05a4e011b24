"""The model zoo against published metadata and torch.utils.flop_counter.

By default a subset covering every family runs (classification, RegNet, int8 quantized,
segmentation, detection, video, optical flow; six timm families including a squeeze-excite
net and a ViT). The whole zoo — all 121 torchvision models and the timm list — runs with

    pytest -m zoo

and `python -m tests.zoo_table` writes the same checks as docs/zoo.md.
"""

from __future__ import annotations

import pytest

from tests.zoo_cases import (
    TIMM_FAST,
    TIMM_MODELS,
    TORCHVISION_FAST,
    ZooResult,
    check_timm,
    check_torchvision,
)

pytest.importorskip("torchvision")


def _all_torchvision() -> list[str]:
    import torchvision.models as tvm

    return sorted(tvm.list_models())


def _assert(r: ZooResult) -> None:
    assert not r.error, r.error
    assert not r.lower_bound, f"{r.name}: the total is a lower bound"
    if r.zoo == "timm":
        assert (r.macs, r.params) == (r.expected_macs, r.expected_params), r
    elif r.family == "detection":
        assert r.execution == "real"
        assert r.ok, r.note
    else:
        assert r.expected_gmacs is not None, f"{r.name} publishes no _ops"
        assert r.gmacs == pytest.approx(r.expected_gmacs, abs=5e-4), (r.macs, r.expected_gmacs)
        if r.family != "quantization":
            assert r.params == r.expected_params
    assert r.ok, r


@pytest.mark.parametrize("name", TORCHVISION_FAST)
def test_torchvision_family(name: str) -> None:
    _assert(check_torchvision(name))


@pytest.mark.parametrize("name", TIMM_FAST)
def test_timm_family(name: str) -> None:
    pytest.importorskip("timm")
    _assert(check_timm(name))


def test_every_family_is_in_the_default_subset() -> None:
    from convcost.frontends.torch_zoo import torchvision_family

    families = {torchvision_family(n) for n in TORCHVISION_FAST}
    assert families == {"classification", "quantization", "segmentation", "detection", "video",
                        "optical_flow"}
    assert "regnet_y_400mf" in TORCHVISION_FAST
    assert len(_all_torchvision()) >= 121


@pytest.mark.zoo
@pytest.mark.parametrize("name", [n for n in _all_torchvision() if n not in TORCHVISION_FAST])
def test_torchvision_zoo(name: str) -> None:
    _assert(check_torchvision(name))


@pytest.mark.zoo
@pytest.mark.parametrize("name", [n for n in TIMM_MODELS if n not in TIMM_FAST])
def test_timm_zoo(name: str) -> None:
    pytest.importorskip("timm")
    _assert(check_timm(name))
