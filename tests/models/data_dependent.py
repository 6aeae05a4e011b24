"""Models whose constructor or forward needs real data (for tests of the real-run path)."""

from __future__ import annotations

import torch
from torch import nn


class NeedsRealTensors(nn.Module):
    """Its constructor turns a tensor into a Python number (fails on the meta device)."""

    def __init__(self) -> None:
        super().__init__()
        width = int(torch.tensor([2.0, 6.0]).sum().item())  # 8
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.fc = nn.Linear(width, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean((2, 3)))


class Gate(nn.Module):
    """Keeps the positions whose score is positive (``nonzero``), then a linear layer over
    them, and a branch on a value (``.item()``)."""

    def __init__(self) -> None:
        super().__init__()
        self.score = nn.Linear(16, 1)
        self.head = nn.Linear(16, 32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.score(x).squeeze(-1)  # (batch, n)
        kept = x[torch.nonzero(s > 0, as_tuple=True)]  # data-dependent shape
        y = self.head(kept)
        if y.sum().item() > 1e9:  # a branch on a value
            y = y * 2
        return y


class FromState(nn.Module):
    """A recurrent cell fed (h0, c0) as one tuple argument and a Python flag."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(10, 20, batch_first=True)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
                *, scale: float = 1.0, use_last: bool = False) -> torch.Tensor:
        out, _ = self.lstm(x, state)
        return (out[:, -1] if use_last else out) * scale


class KeywordOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 8)
        self.fc = nn.Linear(8, 8)

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc(self.emb(input_ids))
        return h if mask is None else h * mask.unsqueeze(-1)


class MmOut(nn.Module):
    """``torch.mm(out=...)``: fvcore's handler asserts on it."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(10, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.empty(x.shape[0], 10, device=x.device)
        torch.mm(x, self.w, out=out)
        return out
