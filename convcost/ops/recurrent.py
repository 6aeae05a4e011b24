"""Recurrent layers (``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` and their cells; ONNX ``LSTM``,
``GRU``, ``RNN``): one record per layer and direction.

Everything convcost knows of them: the op, its shape rule and formula, the torch module
handler (an ``nn.LSTM`` is recorded from the module, whatever its forward runs: on the cpu
``aten.mkldnn_rnn_layer``, on meta matrix products, a GRU on the cpu decomposes too), the fused
kernels met outside such a module (TorchScript, a custom forward), the ONNX nodes and the torch
module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convcost.build.registry import builds
from convcost.core.cost import Cost, numel
from convcost.core.formula_table import formula, shape_rule
from convcost.core.formulas._shapes import one
from convcost.core.ops import Elementwise, OpInfo, Shape, positive
from convcost.errors import InputError, ShapeError
from convcost.frontends.onnx_tables import attrs, decode
from convcost.frontends.onnx_tables import handles as onnx_op
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.registry import ModuleRecord, handles_module
from convcost.frontends.torch.registry import handles as torch_op
from convcost.frontends.unsupported import Unsupported

if TYPE_CHECKING:
    from convcost.frontends.onnx_records import Walker
    from convcost.frontends.torch.state import WalkState

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


@dataclass(frozen=True)
class Recurrent(OpInfo):
    """One layer and direction of an LSTM, GRU or Elman RNN, run over a sequence
    (``sequence=True``: input ``(*batch_and_steps, input_size)``) or as one cell step
    (``sequence=False``: input ``(batch, input_size)``).

    ``proj_size`` (LSTM only): the hidden state is projected to that size (torch's
    ``proj_size``), and the recurrent weights read the projected state.
    """

    cell: str
    input_size: int
    hidden_size: int
    bias: bool = True
    sequence: bool = True
    proj_size: int = 0

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise InputError(
                f"unknown recurrent cell {self.cell!r}; use one of {', '.join(CELLS)}"
            )
        positive((self.input_size,), "recurrent input size")
        positive((self.hidden_size,), "recurrent hidden size")
        if self.proj_size < 0 or (self.proj_size and self.cell != "lstm"):
            raise InputError("proj_size applies to an LSTM only, and must be >= 0")
        if self.proj_size >= self.hidden_size:
            raise InputError("proj_size must be smaller than hidden_size")

    @property
    def kind(self) -> str:
        return "recurrent"

    def label(self) -> str:
        cell = self.cell.removesuffix("_tanh").removesuffix("_relu")
        return cell if self.sequence else f"{cell} cell"

    def geometry(self) -> str:
        projected = f"→{self.proj_size}" if self.proj_size else ""
        return f"{self.input_size}→{self.hidden_size}{projected}"

    @property
    def gates(self) -> int:
        return {"lstm": 4, "gru": 3}.get(self.cell, 1)

    @property
    def state_size(self) -> int:
        """The size of the hidden state fed back (and output)."""
        return self.proj_size or self.hidden_size


# ---------------------------------------------------------------- shape and cost

GATE_OPS = {"lstm": 13, "gru": 10, "rnn_tanh": 2, "rnn_relu": 2}
"""Other ops per hidden unit and step, besides the bias: LSTM 4 sums of the two products, 3
sigmoids, 2 tanh, c = f*c + i*g (3), h = o*tanh(c) (1); GRU 2 sums, 2 sigmoids,
n = tanh(x_n + r*h_n) (3), h = n + z*(h - n) (3); RNN 1 sum and the activation."""


@shape_rule(Recurrent)
def recurrent_shape(op: Recurrent, inputs: tuple[Shape, ...]) -> Shape:
    x = one(inputs, f"{op.cell} layer")
    rank = (2, 3) if op.sequence else (1, 2)
    if len(x) not in rank or x[-1] != op.input_size:
        raise ShapeError(
            f"{op.cell} expects input of rank {rank[0]} or {rank[1]} with "
            f"{op.input_size} features, got shape {list(x)}"
        )
    return (*x[:-1], op.state_size)


@formula(Recurrent)
def recurrent(op: Recurrent, inputs: tuple[Shape, ...]) -> Cost:
    """MACs per step and batch row: gates x hidden x (input + state), plus hidden x proj for a
    projected LSTM (4·H·(I+H) LSTM, 3·H·(I+H) GRU, H·(I+H) RNN), as the decomposed path runs
    it; other ops: gate work (see ``GATE_OPS``) and both biases (2 x gates x hidden)."""
    out = recurrent_shape(op, inputs)
    rows = numel(out[:-1])  # steps x batch
    g, h, state = op.gates, op.hidden_size, op.state_size
    weights = g * h * (op.input_size + state) + (state * h if op.proj_size else 0)
    bias = 2 * g * h if op.bias else 0
    return Cost(
        output_shape=out,
        macs=rows * weights,
        weights=weights,
        bias=bias,
        other_ops=rows * (h * GATE_OPS[op.cell] + bias),
    )


# ---------------------------------------------------------------- torch

_MODES = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


@handles_module
def from_module(module: Any, x: Any) -> list[ModuleRecord] | None:
    """One record per layer and direction of an ``nn.LSTM``/``GRU``/``RNN`` or cell running its
    own forward, named ``l0``, ``l1_reverse``... as torch names their parameters."""
    from torch import nn

    cls = type(module)
    shape = tensor_shape(x)
    for base in (nn.LSTM, nn.GRU, nn.RNN):
        if isinstance(module, base) and cls.forward is base.forward:
            return _layers(module, shape)
    cells = ((nn.LSTMCell, "lstm"), (nn.GRUCell, "gru"), (nn.RNNCell, None))
    for cell_cls, cell in cells:
        if isinstance(module, cell_cls) and cls.forward is cell_cls.forward:
            name = cell or f"rnn_{module.nonlinearity}"
            op = Recurrent(name, module.input_size, module.hidden_size, module.bias,
                           sequence=False)
            params = [module.weight_hh]
            if module.bias:
                params += [module.bias_ih, module.bias_hh]
            return [ModuleRecord(op, (shape,), module.weight_ih, tuple(params), "cell",
                                 name_by_param=False)]
    return None


def _layers(module: Any, shape: Shape) -> list[ModuleRecord]:
    cell = _MODES[module.mode]
    dirs = 2 if module.bidirectional else 1
    proj = int(getattr(module, "proj_size", 0) or 0)
    state = proj or module.hidden_size
    out = []
    for layer in range(module.num_layers):
        size = module.input_size if layer == 0 else state * dirs
        for d in range(dirs):
            sfx = f"l{layer}" + ("_reverse" if d == 1 else "")
            names = ["weight_hh"] + (["bias_ih", "bias_hh"] if module.bias else [])
            names += ["weight_hr"] if proj else []
            op = Recurrent(cell, size, module.hidden_size, module.bias, proj_size=proj)
            out.append(ModuleRecord(
                op, ((*shape[:-1], size),), getattr(module, f"weight_ih_{sfx}"),
                tuple(getattr(module, f"{n}_{sfx}") for n in names), sfx,
                name_by_param=False))
    return out


@torch_op("aten.mkldnn_rnn_layer")
def from_mkldnn_rnn_layer(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """One layer and direction of an LSTM as the cpu runs it."""
    w_ih, w_hh = a["weight0"], a["weight1"]
    hidden = int(a["hidden_size"])
    gates = int(w_ih.shape[0]) // hidden
    cell = {4: "lstm", 3: "gru", 1: "rnn_tanh"}.get(gates)
    if cell is None or int(w_hh.shape[1]) != hidden:
        raise Unsupported
    bias = bool(a["has_biases"])
    op = Recurrent(cell, int(w_ih.shape[1]), hidden, bias)
    others = [w_hh, a["weight2"], a["weight3"]] if bias else [w_hh]
    label = _label_of(w, w_ih, bool(a["reverse"]))
    w.emit(op, [tensor_shape(a["input"])], label, w_ih, others, name_by_param=False)


def _label_of(w: WalkState, weight: Any, reverse: bool) -> str:
    """``l0``, ``l1_reverse``... from the weight's parameter name when it is one."""
    param = w.param_of(weight)
    if param is not None:
        attr = w.param_names[id(param)].rpartition(".")[2]
        if attr.startswith("weight_ih_"):
            return attr.removeprefix("weight_ih_")
    return "rnn_reverse" if reverse else "rnn"


@torch_op("aten._thnn_fused_lstm_cell", "aten._thnn_fused_gru_cell")
def from_fused_cell(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
    """The gate work of a cell whose two matrix products ran (and were counted) before it:
    13 ops per hidden unit for an LSTM, 10 for a GRU, plus 2 x gates for the biases (the
    convention of :class:`Recurrent`)."""
    state = a.get("cx") if a.get("cx") is not None else a.get("hx")
    if state is None:
        raise Unsupported
    lstm = "lstm" in name
    gates, work = (4, 13) if lstm else (3, 10)
    per = work + (2 * gates if a.get("input_bias") is not None else 0)
    label = "lstm_cell" if lstm else "gru_cell"
    w.emit(Elementwise(label, per), [tensor_shape(state)], label)


# ---------------------------------------------------------------- ONNX

_ONNX_CELLS = {"LSTM": ("lstm", 4), "GRU": ("gru", 3), "RNN": ("rnn_tanh", 1)}


@onnx_op("LSTM", "GRU", "RNN")
def from_onnx(w: Walker, node: Any) -> None:
    """One record per direction, named ``l0``, ``l1``... by the node's place in its module, as
    torch names an ``nn.LSTM``'s layers. The input is read batch first when the exporter
    transposed a batch-first input (torch's ``batch_first=True``)."""
    a = attrs(node)
    x, weight, recur = node.input[0], node.input[1], node.input[2]
    bias = w.inp(node, 3)
    xs, ws = w.shape(x, node), w.shape(weight, node)
    cell, gates = _ONNX_CELLS[node.op_type]
    if node.op_type == "RNN" and [decode(f).lower() for f in a.get("activations", [])][:1] \
            == ["relu"]:
        cell = "rnn_relu"
    hidden = int(a.get("hidden_size", ws[1] // gates))
    if len(xs) != 3 or len(ws) != 3 or ws[1] != gates * hidden:
        raise Unsupported
    batch_first = bool(a.get("layout", 0))
    if not batch_first:
        xs = w.batch_first(node, x, xs)
    directions = ws[0]
    reverse = str(decode(a.get("direction", "forward"))) == "reverse"
    layer = w.next_layer(node)
    for d in range(directions):
        op = Recurrent(cell, ws[2], hidden, bias=bias is not None)
        sfx = f"l{layer}" + ("_reverse" if d == 1 or reverse else "")
        # the stacked weights of both directions are one tensor: each direction its half
        w.emit(node, op, [xs], sfx, f"{weight}[{d}]", also=(weight, recur, bias))


# ---------------------------------------------------------------- torch module


@builds(Recurrent)
def module(op: Recurrent, rank: int) -> Any:
    from torch import nn

    from convcost.build.containers import FirstOutput

    rnn: nn.Module
    if op.sequence:
        if op.cell == "lstm":
            rnn = nn.LSTM(op.input_size, op.hidden_size, bias=op.bias, proj_size=op.proj_size)
        elif op.cell == "gru":
            rnn = nn.GRU(op.input_size, op.hidden_size, bias=op.bias)
        else:
            rnn = nn.RNN(op.input_size, op.hidden_size, bias=op.bias,
                         nonlinearity=op.cell.removeprefix("rnn_"))
    elif op.cell == "lstm":
        rnn = nn.LSTMCell(op.input_size, op.hidden_size, bias=op.bias)
    elif op.cell == "gru":
        rnn = nn.GRUCell(op.input_size, op.hidden_size, bias=op.bias)
    else:
        rnn = nn.RNNCell(op.input_size, op.hidden_size, bias=op.bias,
                         nonlinearity=op.cell.removeprefix("rnn_"))
    return FirstOutput(rnn)
