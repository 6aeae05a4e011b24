"""fvcore's FlopCountAnalysis as a reference. fvcore counts one multiply-add as one 'flop'.

fvcore traces with TorchScript, which fails for convolutions on the meta device, so it runs
on real CPU tensors. Its warnings and log lines are kept off the user's screen.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

from convcost.errors import AnalysisError, first_line
from convcost.reference.counts import ReferenceCount, Tool


def fvcore_count(module: Any, inputs: Sequence[Any]) -> ReferenceCount:
    """Count ``module(*inputs)`` with fvcore; ``module`` should be in eval mode on the CPU."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

        for name in ("fvcore", "fvcore.nn.jit_analysis", "iopath"):
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            analysis = FlopCountAnalysis(module, tuple(inputs))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.tracer_warnings("none")
            by_module = {
                name: {op: int(n) for op, n in ops.items()}
                for name, ops in analysis.by_module_and_operator().items()
            }
            unsupported = {op: int(n) for op, n in analysis.unsupported_ops().items()}
        except Exception as err:  # fvcore or the trace failed: a reference failure, exit 3
            raise AnalysisError("fvcore could not count the model: "
                                f"{first_line(err, with_type=False)}") from err
    root = by_module.get("", {})
    return ReferenceCount(
        tool=Tool.FVCORE,
        total=sum(root.values()),
        by_operator=dict(root),
        by_module=by_module,
        unsupported=unsupported,
    )
