"""What a reference counter reported, as exact integers (MACs, not FLOPs)."""

from __future__ import annotations

from dataclasses import dataclass, field

from convcost._compat import StrEnum


class Tool(StrEnum):
    FVCORE = "fvcore"
    TORCH = "torch"
    ONNX_TOOL = "onnx-tool"


@dataclass(frozen=True)
class ReferenceCount:
    tool: Tool
    total: int
    """Multiply-adds (fvcore's unit; torch.utils.flop_counter's FLOPs / 2)."""
    by_operator: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, dict[str, int]] = field(default_factory=dict)
    """Module name -> operator -> count, every module including parents ('' is the root)."""
    unsupported: dict[str, int] = field(default_factory=dict)
    """Ops the tool saw but did not count."""
