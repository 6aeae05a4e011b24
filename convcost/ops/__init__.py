"""The op catalogue: one module per op (or per family of one op), each whole.

A module here holds everything convcost knows of its op: the spec (a frozen dataclass that
says its label, geometry and breakdown group), its shape rule and formula (registered with
core), its YAML kind, the aten ops and ONNX nodes that are one (registered with the
front-ends) and its torch module (registered with the builder). Adding an op is adding a
module here, listed below, and its tests; nothing else changes. The registries load this
package on their first lookup (:mod:`convcost.catalog`).

The ops that core's own algorithms name (the convolutions, linear layers, normalisation,
activations, pooling and joins that the separable rewrite and its pairing reason about) keep
their spec and formula in :mod:`convcost.core.ops`.
"""

from __future__ import annotations

from convcost.ops.channel_shuffle import ChannelShuffle
from convcost.ops.deform_conv import DeformConv
from convcost.ops.einsum import Einsum
from convcost.ops.embedding_bag import EmbeddingBag
from convcost.ops.grid_sample import GridSample
from convcost.ops.nms import Nms
from convcost.ops.recurrent import Recurrent
from convcost.ops.roi_align import RoiAlign
from convcost.ops.squeeze_excite import squeeze_width
from convcost.ops.upsample import Upsample

__all__ = ["ChannelShuffle", "DeformConv", "Einsum", "EmbeddingBag", "GridSample", "Nms",
           "Recurrent", "RoiAlign", "Upsample", "squeeze_width"]
