"""The small torch modules :func:`convcost.frontends.builder.build_module` assembles.

Imported only by the builder, lazily: this is the one YAML-side module that imports torch.
Containers register children straight into ``_modules`` so that any layer name the spec allows
(even one like ``forward``) becomes the module's name, and ``named_modules()`` paths equal the
record paths.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


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
