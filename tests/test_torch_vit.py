"""A ViT-style model: the same total with and without no_grad (fused and unfused attention)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from convcost.frontends.torch_api import analyze_model  # noqa: E402
from tests.models.vit import ViT  # noqa: E402


def vit_macs(b: int, image: int, patch: int, dim: int, depth: int, heads: int, mlp: int,
             classes: int) -> int:
    patches = (image // patch) ** 2
    n = patches + 1
    embed = b * patches * dim * 3 * patch * patch
    attention = b * n * dim * 3 * dim + 2 * b * heads * n * n * (dim // heads) + b * n * dim * dim
    feed_forward = 2 * b * n * dim * mlp
    return embed + depth * (attention + feed_forward) + b * dim * classes


def test_vit_total_is_the_same_with_and_without_no_grad() -> None:
    model = ViT().eval()
    with_no_grad = analyze_model(model, (2, 3, 32, 32))  # the fused encoder fast path
    with_grad = analyze_model(model, (2, 3, 32, 32), grad=True)  # unfused matmuls
    expected = vit_macs(2, 32, 8, 64, 2, 4, 128, 10)
    assert with_no_grad.totals.macs == with_grad.totals.macs == expected
    params = sum(p.numel() for p in model.parameters())
    assert with_no_grad.totals.params == with_grad.totals.params == params
    assert not with_no_grad.lower_bound and not with_grad.lower_bound
