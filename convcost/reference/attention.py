"""Attention a reference is known not to count, measured on the reference's own run.

fvcore has no handler for ``aten::scaled_dot_product_attention`` and torch's counter none for
the fused cpu kernel it dispatches to (``_scaled_dot_product_flash_attention_for_cpu``), so both
come out short by exactly the attention's multiply-adds. While a reference counts, this module
watches every ``F.scaled_dot_product_attention`` call and the module it ran in, so that a
difference of exactly that much is explained by name rather than marked as a disagreement.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn


def sdpa_macs(q: Any, k: Any, v: Any) -> int:
    """q·kᵀ and attention·v: every query position against every key, both products."""
    *batch, length, e = (int(s) for s in q.shape)
    source = int(k.shape[-2])
    ev = int(v.shape[-1])
    return math.prod(batch) * length * source * (e + ev)


@contextlib.contextmanager
def watch_attention(model: nn.Module) -> Iterator[dict[str, int]]:
    """Yields module name -> attention MACs run inside it (every ancestor too; '' the root)."""
    import torch
    from torch.overrides import TorchFunctionMode

    names = {id(m): name for name, m in model.named_modules()}
    stack: list[str] = []
    found: dict[str, int] = {}

    def pre(module: Any, args: Any) -> None:
        stack.append(names.get(id(module), stack[-1] if stack else ""))

    def post(module: Any, args: Any, out: Any) -> None:
        if stack:
            stack.pop()

    sdpa = torch.nn.functional.scaled_dot_product_attention

    class Watch(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if func is sdpa:
                q = args[0] if args else kwargs["query"]
                k = args[1] if len(args) > 1 else kwargs["key"]
                v = args[2] if len(args) > 2 else kwargs["value"]
                macs = sdpa_macs(q, k, v)
                where = stack[-1] if stack else ""
                parts = where.split(".") if where else []
                for i in range(len(parts) + 1):
                    key = ".".join(parts[:i])
                    found[key] = found.get(key, 0) + macs
            return func(*args, **kwargs)

    from torch.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
    )

    h1 = register_module_forward_pre_hook(pre)
    h2 = register_module_forward_hook(post)
    try:
        with Watch():
            yield found
    finally:
        h1.remove()
        h2.remove()
