"""Factories for the model-source tests (imported as tests.models.sources)."""

from __future__ import annotations

from torch import Tensor, nn

NOT_CALLABLE = 42


class Small(nn.Module):
    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def small(channels: int = 4) -> Small:
    return Small(channels)


def broken() -> nn.Module:
    raise ValueError("width must be a multiple of 8\nsecond line of detail")


def not_a_module() -> dict[str, int]:
    return {"layers": 3}


instance = Small(2)
