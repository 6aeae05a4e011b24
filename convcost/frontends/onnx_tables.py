"""What the ONNX front-end knows of each op type: the handler registry and the name tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from convcost import catalog
from convcost.core.ops import ActivationFn
from convcost.frontends.unsupported import Unsupported as Unsupported
from convcost.registry_table import Table

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker

FREE: frozenset[str] = frozenset({
    "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Shape", "Size",
    "Constant", "ConstantOfShape", "Cast", "CastLike", "Slice", "Split", "Expand", "Tile", "Pad",
    "Range", "Dropout", "DepthToSpace", "SpaceToDepth", "Gather", "GatherElements", "GatherND",
    "ScatterND", "ScatterElements", "Concat", "OptionalHasElement", "OptionalGetElement",
    "SequenceConstruct", "SequenceAt", "SplitToSequence", "ConcatFromSequence", "EyeLike",
    "NonZero", "Trilu",
})
"""ONNX ops that cost no arithmetic (a Concat along any axis but channels is a copy)."""

ACTIVATIONS: dict[str, ActivationFn] = {
    "Relu": ActivationFn.RELU, "Sigmoid": ActivationFn.SIGMOID, "Tanh": ActivationFn.TANH,
    "HardSwish": ActivationFn.HARDSWISH, "HardSigmoid": ActivationFn.HARDSIGMOID,
    "Gelu": ActivationFn.GELU, "LeakyRelu": ActivationFn.LEAKY_RELU, "Swish": ActivationFn.SILU,
    "Softmax": ActivationFn.SOFTMAX,
}
ELEMENTWISE: dict[str, str] = {
    "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Max": "maximum",
    "Min": "minimum", "Mean": "mean", "Sum": "add", "Neg": "neg", "Abs": "abs", "Exp": "exp",
    "Log": "log", "Sqrt": "sqrt", "Reciprocal": "reciprocal", "Erf": "erf", "Sin": "sin",
    "Cos": "cos", "Tan": "tan", "Floor": "floor", "Ceil": "ceil", "Round": "round",
    "Sign": "sign", "Not": "logical_not", "And": "logical_and", "Or": "logical_or",
    "Xor": "logical_xor", "Equal": "eq", "Less": "lt", "LessOrEqual": "le", "Greater": "gt",
    "GreaterOrEqual": "ge", "Where": "where", "Mod": "fmod", "Elu": "elu", "Selu": "selu",
    "Celu": "celu", "Softplus": "softplus", "Softsign": "softsign", "Mish": "mish",
    "PRelu": "prelu", "ThresholdedRelu": "threshold", "LogSoftmax": "log_softmax",
    "IsNaN": "isnan", "IsInf": "isinf", "Atan": "atan", "Asin": "asin", "Acos": "acos",
    "Sinh": "sinh", "Cosh": "cosh", "BitwiseAnd": "bitwise_and", "BitwiseOr": "bitwise_or",
    "BitwiseNot": "bitwise_not", "BitwiseXor": "bitwise_xor", "Shrink": "softshrink",
}
REDUCTIONS: dict[str, str] = {
    "ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax", "ReduceMin": "amin",
    "ReduceProd": "prod", "ReduceL1": "norm", "ReduceL2": "norm", "ReduceLogSumExp": "logsumexp",
    "ReduceSumSquare": "sum", "ReduceLogSum": "logsumexp", "ArgMax": "argmax", "ArgMin": "argmin",
}
FLOAT_TYPES = frozenset({1, 10, 11, 16})  # float, float16, double, bfloat16


class NoShape(Unsupported):
    """ONNX shape inference left one of a node's input shapes unknown."""



Handler = Callable[["Walker", Any], None]


def _load() -> None:
    """Import the front-end's own handler modules and the op catalogue (each registers its
    handlers when imported)."""
    import convcost.frontends.onnx_ops
    import convcost.frontends.onnx_pointwise  # noqa: F401

    catalog.load()


_HANDLERS: Table[str, Handler] = Table("a handler for", _load)
"""ONNX op type -> the function that turns one node into records."""

DATA_INPUTS: dict[str, int] = {
    "Reshape": 1, "Expand": 1, "Tile": 1, "Pad": 1, "Slice": 1, "Clip": 1, "ConstantOfShape": 0,
    "Split": 1, "Squeeze": 1, "Unsqueeze": 1, "Range": 0, "TopK": 1, "ReduceMean": 1,
    "ReduceSum": 1,
}
"""ONNX op type -> how many of its first inputs are data; the rest are shapes, axes, scales
or bounds (an initializer read there is not a parameter). A handler registers its own."""


def handles(*names: str, data_inputs: int | None = None) -> Callable[[Handler], Handler]:
    """Register a handler for ONNX op types; ``data_inputs``: see :data:`DATA_INPUTS`."""

    def register(fn: Handler) -> Handler:
        for n in names:
            _HANDLERS.add(n, fn)
            if data_inputs is not None:
                DATA_INPUTS[n] = data_inputs
        return fn
    return register


def handler_for(op_type: str) -> Handler | None:
    return _HANDLERS.get(op_type)


def handled() -> tuple[str, ...]:
    """Every op type with a handler."""
    return tuple(_HANDLERS.loaded())


def data_inputs(op_type: str) -> int | None:
    _HANDLERS.loaded()  # the handlers say theirs
    return DATA_INPUTS.get(op_type)


def attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def decode(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value
