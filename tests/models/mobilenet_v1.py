"""MobileNetV1 (Howard et al. 2017, Table 1) in plain torch, as the paper describes it.

conv 3x3/2 - bn - relu, then 13 depthwise-separable blocks (dw 3x3 - bn - relu - pw 1x1 - bn -
relu), the last depthwise with stride 1 (the paper's table prints s2, but the feature map stays
7x7), a 7x7 average pool and a 1024 -> 1000 fully connected layer with bias. Convolutions have no
bias.
"""

from __future__ import annotations

from torch import Tensor, nn

# (out channels, stride) of the pointwise half; the depthwise half takes the stride
BLOCKS = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]


def conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def separable(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, 1, 0, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000, width: float = 1.0) -> None:
        super().__init__()
        first = int(32 * width)
        layers: list[nn.Module] = [conv_bn(3, first, 2)]
        cin = first
        for cout, stride in BLOCKS:
            c = int(cout * width)
            layers.append(separable(cin, c, stride))
            cin = c
        self.features = nn.Sequential(*layers)
        self.pool = nn.AvgPool2d(7)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.features(x))
        return self.fc(x.flatten(1))


def mobilenet_v1(num_classes: int = 1000) -> MobileNetV1:
    return MobileNetV1(num_classes)
