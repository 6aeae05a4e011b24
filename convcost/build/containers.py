"""The small torch modules the builders assemble: joins, padded convolutions, containers.

Containers register children straight into ``_modules`` so that any layer name the spec allows
(even one like ``forward``) becomes the module's name, and ``named_modules()`` paths equal the
record paths.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from convcost.core.ops import PoolMode


class SpecSequence(nn.Module):
    """Children run one after the other (a block, a repetition, an expanded layer)."""

    def __init__(self, children: Sequence[tuple[str, nn.Module]]) -> None:
        super().__init__()
        for name, module in children:
            self._modules[name] = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self._modules.values():
            assert module is not None
            x = module(x)
        return x


class SpecParallel(nn.Module):
    """Branches on one input (an empty branch is the identity), a join, then ``after``."""

    def __init__(
        self,
        branches: Sequence[tuple[str, nn.Module | None]],
        join: tuple[str, nn.Module],
        after: Sequence[tuple[str, nn.Module]],
    ) -> None:
        super().__init__()
        self.branch_names = [name for name, _ in branches]
        for name, module in branches:
            if module is not None:
                self._modules[name] = module
        self.join_name = join[0]
        self._modules[join[0]] = join[1]
        self.after_names = [name for name, _ in after]
        for name, module in after:
            self._modules[name] = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for name in self.branch_names:
            module = self._modules.get(name)
            outs.append(x if module is None else module(x))
        join = self._modules[self.join_name]
        assert join is not None
        y: torch.Tensor = join(*outs)
        for name in self.after_names:
            module = self._modules[name]
            assert module is not None
            y = module(y)
        return y


class AddJoin(nn.Module):
    """Element-wise sum of its inputs (a residual join)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class ConcatJoin(nn.Module):
    """Concatenation of its inputs along channels."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class MulJoin(nn.Module):
    """Element-wise product of its inputs, broadcast (a squeeze-excite gate)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class GlobalPoolFlat(nn.Module):
    """Global pooling that drops the spatial dimensions (keepdim=False)."""

    def __init__(self, mode: PoolMode) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        if self.mode is PoolMode.MAX:
            return x.amax(dim=dims)
        return x.mean(dim=dims)


def flat_pads(pads: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """Per-dimension (before, after) pairs -> F.pad order (last dimension first)."""
    out: list[int] = []
    for lo, hi in reversed(pads):
        out += [lo, hi]
    return tuple(out)


# Asymmetric padding ('same' with an even kernel) as one leaf module, so that module names stay
# equal to record names (a Sequential(pad, conv) would add a level).
class PaddedConv1d(nn.Conv1d):
    pads: tuple[int, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(F.pad(x, self.pads), self.weight, self.bias)
        return out


class PaddedConv2d(nn.Conv2d):
    pads: tuple[int, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(F.pad(x, self.pads), self.weight, self.bias)
        return out


class PaddedConv3d(nn.Conv3d):
    pads: tuple[int, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(F.pad(x, self.pads), self.weight, self.bias)
        return out


class FirstOutput(nn.Module):
    """A recurrent layer that returns its output sequence (or hidden state) only."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        first: torch.Tensor = out[0] if isinstance(out, tuple) else out
        return first
