"""The walker's state: the stack of running modules, how records are named, which parameter
slices were already counted (tied weights), and what was ignored or left uncounted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.core.ops import Op, Shape
from convcost.core.records import LayerRecord, Uncounted
from convcost.frontends.torch.args import tensor_shape

if TYPE_CHECKING:
    from torch import nn

ROOT = "(root)"
"""How the model itself is named in ``Uncounted.modules``."""


@dataclass
class Pending:
    """A record being built: its path is settled when its module returns."""

    op: Op
    inputs: tuple[Shape, ...]
    label: str
    fixed: tuple[str, ...] | None
    tied: bool
    bias_tied: bool
    path: tuple[str, ...] = ()


@dataclass
class Frame:
    module: Any
    fqn: str
    leaf: bool
    consumed: bool = False
    """A module-level record covers everything this module runs (see :mod:`.modules`)."""
    pending: list[Pending] = field(default_factory=list)


def parts(fqn: str) -> tuple[str, ...]:
    return tuple(fqn.split(".")) if fqn else ()


class WalkState:
    """State of one walk: the module stack, the records, what was seen."""

    def __init__(self, model: nn.Module, params: Mapping[str, Any] | None = None,
                 buffers: Mapping[str, Any] | None = None) -> None:
        """``params``, ``buffers``: the tensors the forward will use in place of the model's
        own (by fully qualified name), when it runs on substitutes."""
        import torch
        from torch.utils.weak import WeakIdKeyDictionary

        self.torch = torch
        self.model = model
        self.names: dict[int, str] = {}
        for name, mod in model.named_modules():
            self.names.setdefault(id(mod), name)
        self.param_names: dict[int, str] = {}
        named = params.items() if params is not None else model.named_parameters()
        for name, p in named:
            self.param_names.setdefault(id(p), name)
        named_buffers = buffers.values() if buffers is not None else model.buffers()
        self.buffer_ids: set[int] = {id(b) for b in named_buffers}
        self.derived: Any = WeakIdKeyDictionary()  # tensor -> parameter it is a view/copy of
        # tensor computed from parameters and buffers alone (a pruned, normalised or
        # standardised weight) -> the parameter it stands for, or None (a fixed filter)
        self.prepared: Any = WeakIdKeyDictionary()
        self.origin: Any = WeakIdKeyDictionary()  # reshaped tensor -> shape before the reshape
        self.counted: set[tuple[int, int, int]] = set()
        self.used_params: set[int] = set()
        self.stack: list[Frame] = [Frame(model, "", leaf=False)]
        self.order: list[Pending] = []
        self.uncounted: dict[str, tuple[int, list[str]]] = {}
        self.ignored: dict[str, int] = {}
        self.last: Pending | None = None
        self.linear_out: Any = WeakIdKeyDictionary()  # output of a bias-free Linear -> record
        self.bug: BaseException | None = None  # a handler's own error, raised under debug
        self.data_dependent: dict[str, None] = {}  # data-dependent ops met, in order
        self.interrupt: BaseException | None = None  # a Ctrl-C met inside the dispatch mode

    @property
    def where(self) -> str:
        """The fully qualified name of the module running now ('' for the model itself)."""
        return self.stack[-1].fqn

    @property
    def covering(self) -> bool:
        """Whether a record already covers the ops running now (a module costed as a
        whole)."""
        return self.stack[-1].consumed

    # ------------------------------------------------------------ modules

    def push(self, module: Any) -> Frame:
        top = self.stack[-1]
        fqn = self.names.get(id(module))
        if fqn is None:
            fqn = ".".join(p for p in (top.fqn, type(module).__name__) if p)
        # a parametrized layer (weight_norm, spectral_norm, ...) holds its parametrizations as
        # children: it is still a leaf layer
        leaf = all(name == "parametrizations" for name, _ in module.named_children())
        frame = Frame(module, fqn, leaf, consumed=top.consumed)
        self.stack.append(frame)
        return frame

    def pop(self, module: Any) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].module is module:
                for frame in reversed(self.stack[i:]):
                    self.close(frame)
                del self.stack[i:]
                return

    def close(self, frame: Frame) -> None:
        loose = [p for p in frame.pending if p.fixed is None]
        base = parts(frame.fqn)
        if frame.leaf and len(loose) == 1:
            loose[0].path = base or (type(frame.module).__name__,)
            return
        seen: dict[str, int] = {}
        for p in loose:
            n = seen[p.label] = seen.get(p.label, 0) + 1
            p.path = (*base, p.label if n == 1 else f"{p.label}_{n}")

    # ------------------------------------------------------------ records

    def param_of(self, t: Any) -> Any:
        if t is None or not isinstance(t, self.torch.Tensor):
            return None
        if id(t) in self.param_names:
            return t
        found = self.derived.get(t)
        return found if found is not None else self.prepared.get(t)

    def weightish(self, t: Any) -> bool:
        """A parameter, a buffer, or a tensor computed from them alone."""
        return id(t) in self.param_names or id(t) in self.buffer_ids or t in self.derived \
            or t in self.prepared

    def prepare(self, inputs: Sequence[Any], out: Any) -> bool:
        """An op on parameters and buffers alone (no activation): weight preparation, as
        pruning masks, weight norm, spectral norm and weight standardisation run it. Its
        outputs stand for the parameter of the same size among its inputs. True if it was."""
        if not inputs or not all(self.weightish(t) for t in inputs):
            return False
        params = [p for p in (self.param_of(t) for t in inputs) if p is not None]
        outs = out if isinstance(out, (list, tuple)) else (out,)
        for o in outs:
            if isinstance(o, self.torch.Tensor):
                same = [p for p in params if p.numel() == o.numel()]
                self.prepared[o] = same[0] if same else None
        return True

    def emit(
        self,
        op: Op,
        inputs: Sequence[Shape],
        label: str,
        weight: Any = None,
        extra_params: Sequence[Any] = (),
        rows: tuple[int, int] | None = None,
        name_by_param: bool = True,
    ) -> None:
        """Queue a record; ``weight`` (a tensor, maybe a view of a parameter) decides whether
        it is tied and, with ``name_by_param``, its name; ``rows`` = (first, count) uses only
        those rows of it."""
        frame = self.stack[-1]
        fixed: tuple[str, ...] | None = None
        tied = False
        param = self.param_of(weight)
        if param is not None and weight in self.prepared and weight not in self.derived:
            name_by_param = False  # a weight computed from the parameter: named by its user
        if weight is not None and param is None:
            tied = True  # a buffer or a constant used as weights: not a parameter
        if param is not None:
            offset = weight.storage_offset() - param.storage_offset()
            size = weight.numel()
            if rows is not None:
                per_row = weight.numel() // int(weight.shape[0])
                offset, size = offset + rows[0] * per_row, rows[1] * per_row
            key = (id(param), offset, size)
            tied = key in self.counted
            self.counted.add(key)
            self.used_params.add(id(param))
            owner, _, attr = self.param_names[id(param)].rpartition(".")
            inside = frame.fqn == "" or owner == frame.fqn or owner.startswith(frame.fqn + ".")
            if not name_by_param:
                pass
            elif inside and not tied and attr != "weight":
                fixed = (*parts(owner), attr.removesuffix("_weight"))
            elif inside and not tied and owner != frame.fqn:
                fixed = parts(owner)
        bias_keys = []
        for t in extra_params:
            p = self.param_of(t)
            if p is not None:
                self.used_params.add(id(p))
                bias_keys.append((id(p), t.storage_offset() - p.storage_offset(), t.numel()))
        # a tied weight may come with a bias of its own (BERT's decoder): judge it apart
        bias_tied = all(k in self.counted for k in bias_keys) if bias_keys else tied
        if not bias_keys and any(isinstance(t, self.torch.Tensor) for t in extra_params):
            bias_tied = True  # a bias made of buffers or computed (EVA's q/zero/v bias):
            # its parameters, if any, are counted as themselves
        self.counted.update(bias_keys)
        pending = Pending(op, tuple(tuple(s) for s in inputs), label, fixed, tied, bias_tied)
        if fixed is not None:
            pending.path = fixed
        frame.pending.append(pending)
        self.order.append(pending)
        self.last = pending

    def uncount(self, name: str) -> None:
        count, modules = self.uncounted.get(name, (0, []))
        where = self.where or ROOT
        if where not in modules:
            modules.append(where)
        self.uncounted[name] = (count + 1, modules)

    def ignore(self, name: str) -> None:
        self.ignored[name] = self.ignored.get(name, 0) + 1

    def track(self, reshape: bool, source: Any, out: Any) -> None:
        """``out`` is a view or copy of ``source``: it inherits its parameter and, through a
        reshape, the shape it had before."""
        param = self.param_of(source)
        outs = out if isinstance(out, (list, tuple)) else (out,)
        for o in outs:
            if not isinstance(o, self.torch.Tensor):
                continue
            if param is not None:
                self.derived[o] = param
            elif self.weightish(source):
                self.prepared[o] = None  # a view or copy of a buffer
            if reshape and o is not source:
                self.origin[o] = self.origin.get(source, tensor_shape(source))
                if source in self.linear_out:
                    self.linear_out[o] = self.linear_out[source]

    def finish(self) -> tuple[list[LayerRecord], list[Uncounted]]:
        for frame in reversed(self.stack):
            self.close(frame)
        seen: dict[tuple[str, ...], int] = {}
        records = []
        for p in self.order:
            n = seen[p.path] = seen.get(p.path, 0) + 1
            path = p.path if n == 1 else (*p.path[:-1], f"{p.path[-1]}#{n}")
            records.append(LayerRecord(path=path, op=p.op, inputs=p.inputs, tied=p.tied,
                                       bias_tied=p.bias_tied))
        uncounted = [Uncounted(op=k, count=c, modules=tuple(m))
                     for k, (c, m) in self.uncounted.items()]
        return records, uncounted
