"""A detector-style block with deformable convolutions (tests/test_ops_deform_conv.py): a conv
predicts the offsets (and, for DCNv2, the modulation mask) from the features, then
torchvision's ``DeformConv2d`` reads the features at the moved taps."""

from __future__ import annotations

from torch import Tensor, nn
from torchvision.ops import DeformConv2d


class DeformBlock(nn.Module):
    """``in_ch -> out_ch``: a 3×3 offset conv (``3·og·9`` channels with a mask, ``2·og·9``
    without), then a 3×3 deformable conv with ``stride``, ``offset_groups`` and ``groups``."""

    def __init__(self, in_ch: int, out_ch: int, *, stride: int = 1, groups: int = 1,
                 offset_groups: int = 1, mask: bool = True, bias: bool = True) -> None:
        super().__init__()
        self.mask = mask
        self.taps = offset_groups * 9
        self.offset = nn.Conv2d(in_ch, (3 if mask else 2) * self.taps, 3, stride=stride,
                                padding=1)
        self.deform = DeformConv2d(in_ch, out_ch, 3, stride=stride, padding=1, groups=groups,
                                   bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        o = self.offset(x)
        if not self.mask:
            return self.deform(x, o)
        offset, mask = o[:, : 2 * self.taps], o[:, 2 * self.taps :].sigmoid()
        return self.deform(x, offset, mask)


class DeformNet(nn.Module):
    """A stem conv, a DCNv2 block (stride 2, 2 offset groups), a DCN block, a classifier."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())
        self.dcn2 = DeformBlock(16, 32, stride=2, offset_groups=2, mask=True)
        self.dcn1 = DeformBlock(32, 32, groups=2, mask=False, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.dcn1(self.dcn2(self.stem(x)).relu())
        return self.fc(self.pool(x).flatten(1))
