"""The execution harness: run one forward of the model under the module hooks and the counting
dispatch mode, in eval mode, and put the model back exactly as it was."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcost.core.ops import FreeParameter, Shape
from convcost.core.records import LayerRecord, Uncounted
from convcost.errors import AnalysisError, ConvcostError, InputError, first_line
from convcost.frontends.torch.args import tensor_shape
from convcost.frontends.torch.dispatch import counting_mode
from convcost.frontends.torch.eager import without_dynamo_import
from convcost.frontends.torch.execution import (
    Execution,
    attributes_restored,
    make_inputs,
    resolve,
    substitutes,
    tensors_restored,
)
from convcost.frontends.torch.modules import pre_hook
from convcost.frontends.torch.scopes import (
    has_module_stacks,
    run_scoped,
    run_script_scoped,
    script_graph,
)
from convcost.frontends.torch.state import WalkState

if TYPE_CHECKING:
    import torch
    from torch import nn

    from convcost.frontends.torch_source import InputSpec


@dataclass(frozen=True)
class TorchWalk:
    """What one forward of a torch model ran, as layer records."""

    records: list[LayerRecord]
    uncounted: list[Uncounted]
    buffers: int
    """Elements of every unique buffer (running statistics, masks, ...)."""
    params_unique: int
    """Elements of every unique parameter (tied weights once)."""
    input_shapes: tuple[Shape, ...] = ()
    ignored: dict[str, int] = field(default_factory=dict)
    """aten ops run that cost no arithmetic (see :data:`IGNORED`), with counts."""
    params_uncovered: tuple[str, ...] = ()
    """Parameters the forward never used in a costed record (their elements are in
    ``params_unique`` but not in the records' totals)."""
    execution: str = "meta"
    """How the forward ran: ``meta``, ``fake`` or ``real`` (see :mod:`.execution`)."""
    data_dependent: tuple[str, ...] = ()
    """Data-dependent ops the forward ran (``aten.nonzero``, ``torchvision.nms``, ...), in
    the order first met: why a real run was needed."""


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Every module in eval for the walk; each module's own flag restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    try:
        for m, _ in flags:
            m.training = False
        yield
    finally:
        for m, flag in flags:
            m.training = flag


@contextmanager
def _quiet_fake_tensors() -> Iterator[None]:
    """FakeTensorMode logs a traceback at ERROR level before re-raising a failing op; the
    error reaches the user once, as an AnalysisError."""
    import logging

    logger = logging.getLogger("torch._subclasses.fake_tensor")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _module_hooks(state: WalkState) -> Iterator[None]:
    from torch.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
    )

    pre = register_module_forward_pre_hook(lambda m, a: pre_hook(state, m, a))
    try:
        post = register_module_forward_hook(lambda m, a, o: state.pop(m))
    except BaseException:
        pre.remove()
        raise
    try:
        yield
    finally:
        pre.remove()
        post.remove()


InputLike = Any
"""An InputSpec, a ``(shape, dtype)`` pair, a bare shape or a tensor (only its shape and dtype
are used)."""


def _specs(inputs: Sequence[InputLike]) -> list[InputSpec]:
    import torch

    from convcost.frontends.torch_source import InputSpec, parse_dtype

    out = []
    for item in inputs:
        if isinstance(item, InputSpec):
            out.append(item)
        elif isinstance(item, torch.Tensor):
            out.append(InputSpec(tensor_shape(item), str(item.dtype).removeprefix("torch.")))
        elif (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (tuple, list))):
            shape, dtype = item
            word = str(dtype).removeprefix("torch.")
            out.append(InputSpec(tuple(int(s) for s in shape), parse_dtype(word)))
        elif isinstance(item, (tuple, list)) and all(isinstance(s, int) for s in item):
            out.append(InputSpec(tuple(int(s) for s in item)))
        else:
            raise InputError(f"cannot read a model input from {item!r}")
    if not out:
        raise InputError("the model needs at least one input shape")
    for spec in out:
        if any(s < 1 for s in spec.shape):
            raise InputError(f"input shape {list(spec.shape)} must hold sizes >= 1")
    return out


def model_device(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter or buffer; None if it has neither."""
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return None


def _unique_numel(tensors: Iterator[torch.Tensor]) -> int:
    seen: set[int] = set()
    total = 0
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel()
    return total


def walk(
    model: nn.Module,
    inputs: Sequence[InputLike],
    *,
    grad: bool = False,
    execution: str | Execution = Execution.AUTO,
    seed: int = 0,
) -> TorchWalk:
    """Run one forward of ``model`` on inputs of the given shapes and record what it ran.

    ``inputs``: one item per positional argument of ``forward`` — an :class:`InputSpec`, a
    ``(shape, dtype)`` pair, a bare shape (float32) or a tensor (only its shape and dtype are
    read). ``execution``: ``auto``, ``meta``, ``fake`` or ``real`` (see
    :mod:`.execution`); ``seed`` seeds a real run's random inputs. The model is left exactly as
    found (see the package docstring).
    """
    import torch

    specs = _specs(inputs)
    mode = resolve(execution, model)
    shapes = tuple(s.shape for s in specs)
    if mode is Execution.META:
        device = torch.device("meta")
    elif mode is Execution.REAL:
        device = torch.device("cpu")
    else:
        device = model_device(model) or torch.device("cpu")
        if device.type == "meta":
            raise InputError("a model on the meta device has no weights to run on fake "
                             "tensors; use execution 'meta' or 'real'")
    with ExitStack() as stack:
        stack.enter_context(without_dynamo_import())
        stack.enter_context(attributes_restored(model))
        fake_mode = None
        if mode is Execution.FAKE:
            from torch._subclasses.fake_tensor import FakeTensorMode

            stack.enter_context(_quiet_fake_tensors())
            fake_mode = FakeTensorMode(allow_non_fake_inputs=True)
        swapped = substitutes(model, mode, fake_mode)
        if swapped is None and mode is not Execution.META:
            stack.enter_context(tensors_restored(model))
        state = WalkState(model, *(swapped or (None, None)))
        if fake_mode is not None:
            stack.enter_context(fake_mode)
        try:
            args = make_inputs(specs, mode, device, seed)
        except Exception as err:
            raise AnalysisError(f"cannot make inputs {list(shapes)}: {first_line(err)}") from err
        stack.enter_context(eval_mode(model))
        stack.enter_context(torch.set_grad_enabled(grad))
        stack.enter_context(_module_hooks(state))
        stack.enter_context(counting_mode(state))
        if swapped is not None:
            from torch.nn.utils.stateless import _reparametrize_module

            stack.enter_context(_reparametrize_module(model, {**swapped[0], **swapped[1]}))
        try:
            script = script_graph(model)
            if script is not None:
                run_script_scoped(state, model, script, args)
            elif has_module_stacks(model):
                run_scoped(state, model, args)
            else:
                model(*args)
        except ConvcostError:
            raise
        except Exception as err:
            if state.interrupt is not None:
                raise state.interrupt from None
            if state.bug is not None:
                raise
            raise _forward_failed(state, mode, shapes, err) from err
    records, uncounted = state.finish()
    names = dict(model.named_parameters())
    uncovered = tuple(n for n, p in names.items() if id(p) not in _used(state, swapped, n, p))
    # parameters used directly (class tokens, position embeddings) or not at all are still
    # parameters: one record each, so that the rows add up to sum(p.numel())
    records += [
        LayerRecord(tuple(n.split(".")), FreeParameter(names[n].numel()), ())
        for n in uncovered
    ]
    return TorchWalk(
        records=records,
        uncounted=uncounted,
        buffers=_unique_numel(model.buffers()),
        params_unique=_unique_numel(model.parameters()),
        input_shapes=shapes,
        ignored=dict(state.ignored),
        params_uncovered=uncovered,
        execution=str(mode),
        data_dependent=tuple(state.data_dependent),
    )


def _used(state: WalkState, swapped: Any, name: str, param: Any) -> set[int]:
    """The ids of used parameters, read through the substitutes when the forward ran on
    them: a set holding ``id(param)`` when the parameter ``name`` was used."""
    if swapped is None:
        return state.used_params
    return {id(param)} if id(swapped[0][name]) in state.used_params else set()


def _forward_failed(
    state: WalkState, mode: Execution, shapes: tuple[Shape, ...], err: BaseException
) -> AnalysisError:
    shown = ", ".join(str(list(s)) for s in shapes)
    where = state.where
    inside = f" in module {where!r}" if where else ""
    message = f"the model's forward failed{inside} on input {shown}: {first_line(err)}"
    ops = tuple(state.data_dependent)
    if ops and mode is not Execution.REAL:
        return DataDependentError(
            f"{message} (it reads data: {', '.join(ops)}; only a real run can count it)",
            ops=ops,
        )
    return AnalysisError(message)


@dataclass
class DataDependentError(AnalysisError):
    """The forward reads data (``nonzero``, ``nms``, ``.item()``) that meta or fake tensors do
    not have: one real run (``execution='real'``) can count it."""

    ops: tuple[str, ...] = ()
    """The data-dependent ops met before the forward failed."""
