"""Recurrent layers on every path: an ``nn.LSTM``/``GRU``/``RNN`` (or cell) module is one
:class:`Recurrent` record per layer and direction, whatever it runs inside (on the cpu an LSTM
runs ``aten.mkldnn_rnn_layer``; on meta it decomposes into matrix products; a GRU on the cpu
decomposes too). Outside such a module (TorchScript, a custom forward), the fused kernels have
handlers of their own."""

from __future__ import annotations

from typing import Any

from convcost.core.ops import Elementwise, Recurrent
from convcost.frontends.torch.registry import Unsupported, handles
from convcost.frontends.torch.state import WalkState, shape_of

_MODES = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn_tanh", "RNN_RELU": "rnn_relu"}


def _suffix(layer: int, reverse: bool) -> str:
    return f"l{layer}" + ("_reverse" if reverse else "")


def module_records(module: Any, x: Any) -> list[tuple[Recurrent, tuple[int, ...], list[Any],
                                                      str]] | None:
    """(op, input shape, [weight, other parameters], label) per layer and direction of an
    ``nn.LSTM``/``GRU``/``RNN`` or cell running its own forward on a tensor; else None."""
    from torch import nn

    cls = type(module)
    shape = shape_of(x)
    for base in (nn.LSTM, nn.GRU, nn.RNN):
        if isinstance(module, base) and cls.forward is base.forward:
            return _layers(module, shape)
    cells = ((nn.LSTMCell, "lstm"), (nn.GRUCell, "gru"), (nn.RNNCell, None))
    for cell_cls, cell in cells:
        if isinstance(module, cell_cls) and cls.forward is cell_cls.forward:
            name = cell or f"rnn_{module.nonlinearity}"
            op = Recurrent(name, module.input_size, module.hidden_size, module.bias,
                           sequence=False)
            params = [module.weight_ih, module.weight_hh]
            if module.bias:
                params += [module.bias_ih, module.bias_hh]
            return [(op, shape, params, "cell")]
    return None


def _layers(module: Any, shape: tuple[int, ...]) -> list[tuple[Recurrent, tuple[int, ...],
                                                              list[Any], str]]:
    cell = _MODES[module.mode]
    dirs = 2 if module.bidirectional else 1
    proj = int(getattr(module, "proj_size", 0) or 0)
    state = proj or module.hidden_size
    out = []
    for layer in range(module.num_layers):
        size = module.input_size if layer == 0 else state * dirs
        for d in range(dirs):
            sfx = _suffix(layer, d == 1)
            names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if module.bias else [])
            names += ["weight_hr"] if proj else []
            params = [getattr(module, f"{n}_{sfx}") for n in names]
            op = Recurrent(cell, size, module.hidden_size, module.bias, proj_size=proj)
            out.append((op, (*shape[:-1], size), params, sfx))
    return out


@handles("aten.mkldnn_rnn_layer")
def _mkldnn_rnn_layer(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
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
    w.emit(op, [shape_of(a["input"])], label, w_ih, others, name_by_param=False)


def _label_of(w: WalkState, weight: Any, reverse: bool) -> str:
    """``l0``, ``l1_reverse``... from the weight's parameter name when it is one."""
    param = w.param_of(weight)
    if param is not None:
        attr = w.param_names[id(param)].rpartition(".")[2]
        if attr.startswith("weight_ih_"):
            return attr.removeprefix("weight_ih_")
    return "rnn_reverse" if reverse else "rnn"


@handles("aten._thnn_fused_lstm_cell", "aten._thnn_fused_gru_cell")
def _fused_cell(w: WalkState, name: str, a: dict[str, Any], out: Any) -> None:
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
    w.emit(Elementwise(label, per), [shape_of(state)], label)
