"""The torch front-end: walk a model's forward at the level of aten ops into layer records.

How it runs
-----------
* **Device.** If every parameter and buffer is on the ``meta`` device (or there are none), the
  forward runs on meta inputs: no memory, no arithmetic. Otherwise (real weights, e.g. a cpu
  model or a TorchScript archive) it runs under ``FakeTensorMode``: inputs are fake tensors on the
  model's device, real parameters are read as fakes on the fly, so still no arithmetic and no
  activation memory, and nothing is copied or moved. Ops that need real values (``.item()``,
  data-dependent shapes) cannot run either way and give an :class:`AnalysisError`.
* **Mode.** Counts are inference counts: every module is put in eval mode for the walk and each
  module's own ``training`` flag is restored afterwards (a training-mode batch-norm would update
  its running statistics). The forward runs under ``torch.no_grad()`` unless ``grad=True``.
  torch's fused attention fast paths (``_native_multi_head_attention``,
  ``_transformer_encoder_layer_fwd``) are taken only in eval + no_grad on cpu/cuda tensors; they
  are costed to the same MACs and parameters as the unfused path.
* **Attribution.** Global forward pre/post hooks (removed afterwards) keep a stack of the modules
  running, by their fully qualified names. A ``TorchDispatchMode`` sees every aten op; each op
  becomes a record of a core op (the same classes and formulas as the YAML front-end), is
  ignored (:data:`IGNORED`: it costs no arithmetic) or is listed as uncounted.

Modules: ``tables`` (op tables), ``classify`` (ignored / handled / uncounted, names
normalised once), ``registry`` (handlers keyed by op packet), ``handlers``, ``pointwise``,
``attention`` and ``modules`` (the handlers), ``state`` (module stack, naming, tied weights),
``dispatch`` (the dispatch mode, handler errors) and ``harness`` (running the forward).
* **Paths.** A leaf module that issues one costed op gives a record named by its fqn (a conv at
  ``features.0.0`` -> ``("features", "0", "0")``). An op that uses a parameter owned by another
  module is named after that parameter's owner (``attn.out_proj``; a parameter not called
  ``weight`` adds its name: ``attn.in_proj``). Other ops get ``(fqn..., opname)``, numbered
  ``opname_2``... within one call; a path met again (a module called twice) gets ``#2``...
* **Parameters once.** A record whose weight tensor (a parameter or a slice of one) was counted
  on an earlier record is marked ``tied`` (the core then counts no parameters for it).
  ``params_unique`` and ``buffers`` are read from the model itself (unique tensors).
"""


from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convcost.frontends.torch.execution import Execution, is_meta
    from convcost.frontends.torch.harness import (
        DataDependentError,
        InputLike,
        TorchWalk,
        eval_mode,
        model_device,
        walk,
    )
    from convcost.frontends.torch.state import ROOT
    from convcost.frontends.torch.tables import IGNORED

_EXPORTS = {
    "Execution": "execution", "is_meta": "execution", "DataDependentError": "harness",
    "InputLike": "harness", "TorchWalk": "harness", "eval_mode": "harness",
    "model_device": "harness", "walk": "harness", "ROOT": "state", "IGNORED": "tables",
}


def __getattr__(name: str) -> Any:
    # The package imports torch only when its walker is asked for: the op modules register
    # their handlers in .registry (torch-free) on every path, the YAML path included.
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = ["IGNORED", "ROOT", "DataDependentError", "Execution", "InputLike", "TorchWalk",
           "eval_mode", "is_meta", "model_device", "walk"]
