"""ShuffleNet's channel shuffle (``nn.ChannelShuffle``): channels regrouped
``(groups, C/groups) -> (C/groups, groups)``. It moves data and computes nothing.

Everything convcost knows of it: the op, its shape rule and formula, the YAML kind
``channel_shuffle`` and its torch module. (A torch model's shuffle, a view and a transpose or
``aten.channel_shuffle``, is a copy the walker ignores: no arithmetic either way.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.build.registry import builds
from convcost.core.cost import Cost
from convcost.core.formula_table import formula, shape_rule
from convcost.core.formulas._shapes import one
from convcost.core.ops import OpInfo, Shape, positive
from convcost.errors import ShapeError
from convcost.frontends.yaml_format import SpecNode, yaml_kind
from convcost.frontends.yaml_schema import SIZE, described

if TYPE_CHECKING:
    from convcost.frontends.yaml_compile import Compiler, Opts


@dataclass(frozen=True)
class ChannelShuffle(OpInfo):
    """ShuffleNet's channel shuffle in ``groups`` groups."""

    groups: int

    def __post_init__(self) -> None:
        positive((self.groups,), "shuffle groups")

    @property
    def kind(self) -> str:
        return "channel_shuffle"


@shape_rule(ChannelShuffle)
def channel_shuffle_shape(op: ChannelShuffle, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, "channel shuffle")
    if len(x) < 2 or x[1] % op.groups:
        raise ShapeError(f"channel shuffle in {op.groups} groups needs channels divisible by "
                         f"{op.groups}, got shape {list(x)}")
    return x


@formula(ChannelShuffle)
def channel_shuffle(op: ChannelShuffle, inputs: tuple[Shape, ...]) -> Cost:
    return Cost(output_shape=channel_shuffle_shape(op, inputs))  # a copy: traffic, no arithmetic


@yaml_kind("channel_shuffle", {
    "groups": described(SIZE, "groups to interleave (must divide the channels)"),
}, required=("groups",), description="ShuffleNet's channel shuffle (a copy: no arithmetic)")
def from_yaml(c: Compiler, o: Opts, name: str, shape: Shape) -> tuple[SpecNode, Shape]:
    if not o.has("groups"):
        raise c.err(o.pos, o.key, "channel_shuffle needs 'groups'")
    groups = c.integer(o.values["groups"], o.sub("groups"), "groups", in_ch=shape[0])
    return c.leaf(name, lambda: ChannelShuffle(groups), shape, o.where("groups"),
                  o.sub("groups"))


@builds(ChannelShuffle)
def module(op: ChannelShuffle, rank: int) -> Any:
    from torch import nn

    return nn.ChannelShuffle(op.groups)
