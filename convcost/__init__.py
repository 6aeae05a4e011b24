"""convcost: what a convolutional network costs, and what it would cost depthwise separable."""

from __future__ import annotations

__version__ = "0.1.0"
