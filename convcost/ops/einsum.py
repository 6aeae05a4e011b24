"""Einstein summation (``torch.einsum``, ONNX ``Einsum``), costed by its contraction.

torch runs a two-operand einsum as one batched matrix product (its walker sees the ``bmm``);
an ONNX graph keeps the ``Einsum`` node, read here by the same formula, so both front-ends
give the same count.

Everything convcost knows of it: the op, its shape rule and formula, the ONNX node that is one,
and how the references count it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.core.cost import Cost
from convcost.core.formula_table import formula, shape_rule
from convcost.core.ops import OpInfo, Shape
from convcost.errors import ShapeError
from convcost.frontends.onnx_tables import attrs, decode
from convcost.frontends.onnx_tables import handles as onnx_op
from convcost.frontends.unsupported import Unsupported
from convcost.reference.products import counted_as_macs

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker


@dataclass(frozen=True)
class Einsum(OpInfo):
    """``einsum(equation, *operands)``, costed by its contraction: one multiply-add per point
    of the full index space (the product of the sizes of every index) when it multiplies two
    or more operands; a one-operand einsum (a trace, a sum) is one op per point."""

    equation: str

    @property
    def kind(self) -> str:
        return "einsum"

    def geometry(self) -> str:
        return self.equation


def _sizes(equation: str, inputs: tuple[Shape, ...]) -> tuple[dict[str, int], str]:
    eq = equation.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(inputs):
        raise ShapeError(f"einsum {equation!r} names {len(terms)} operands, got {len(inputs)}")
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, inputs, strict=True):
        if "..." in term:
            extra = len(shape) - (len(term) - 3)
            term = term.replace("...", "".join(chr(0x391 + i) for i in range(extra)))
        if len(term) != len(shape):
            raise ShapeError(f"einsum {equation!r}: {term!r} does not fit shape {list(shape)}")
        for letter, n in zip(term, shape, strict=True):
            if sizes.get(letter, n) != n and 1 not in (n, sizes[letter]):
                raise ShapeError(f"einsum {equation!r}: index {letter!r} has two sizes")
            sizes[letter] = max(n, sizes.get(letter, 1))
    if "->" not in eq:
        counts = {c: lhs.count(c) for c in sizes}
        rhs = "".join(sorted(c for c, k in counts.items() if k == 1 and c.isalpha()))
    if "..." in rhs:
        rhs = rhs.replace("...", "".join(c for c in sizes if not c.isascii()))
    return sizes, rhs


@shape_rule(Einsum)
def einsum_shape(op: Einsum, inputs: tuple[Shape, ...]) -> Shape:
    if not inputs:
        raise ShapeError("einsum needs at least one operand")
    sizes, rhs = _sizes(op.equation, inputs)
    return tuple(sizes[c] for c in rhs)


@formula(Einsum)
def einsum(op: Einsum, inputs: tuple[Shape, ...]) -> Cost:
    out = einsum_shape(op, inputs)
    sizes, _ = _sizes(op.equation, inputs)
    points = math.prod(sizes.values())
    if len(inputs) == 1:
        return Cost(output_shape=out, other_ops=points)
    return Cost(output_shape=out, macs=points)


counted_as_macs("einsum")  # fvcore's einsum handle counts the contraction's multiply-adds


@onnx_op("Einsum")
def from_onnx(w: Walker, node: Any) -> None:
    """One or two operands; with three or more the order of the contractions (which a runtime
    chooses) sets the cost, so such a node is left uncounted."""
    if not 1 <= len(node.input) <= 2:
        raise Unsupported
    equation = str(decode(attrs(node).get("equation", "")))
    shapes = [w.shape(x, node) for x in node.input]
    # an operand that is an initializer stays a parameter of its own (as torch's walker
    # counts a parameter used in a product)
    w.emit(node, Einsum(equation), shapes, "einsum")
