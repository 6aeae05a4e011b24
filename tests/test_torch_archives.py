"""TorchScript and torch.export archives keep the module tree: the same records, named the
same, as the eager model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from convcost.frontends.torch_api import analyze_model


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.bn(self.conv(x))) + x


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = nn.Sequential(Block(), Block())
        self.up = nn.Upsample(scale_factor=2, mode="bilinear")
        self.fc = nn.Linear(4, 5)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.up(self.blocks(self.stem(x))).mean((2, 3)))


@pytest.mark.filterwarnings("ignore")
def test_archives_look_like_the_eager_model(tmp_path: Path) -> None:
    model = Net().eval()
    x = torch.randn(1, 3, 8, 8)
    eager = analyze_model(model, (1, 3, 8, 8))
    ts = tmp_path / "net.pt"
    torch.jit.save(torch.jit.trace(model, x), str(ts))
    pt2 = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(model, (x,)), str(pt2))
    expected = [(r.name, r.cost.macs, r.cost.params) for r in eager.rows]
    assert ("blocks.0.relu", 0, 0) in expected and ("up", 0, 0) in expected
    for path in (ts, pt2):
        archive = analyze_model(str(path), "1,3,8,8")
        assert [(r.name, r.cost.macs, r.cost.params) for r in archive.rows] == expected, path
        assert archive.totals == eager.totals
        assert not archive.uncounted
