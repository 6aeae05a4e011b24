"""Reference counts for a whole model, reconciled per layer (or block) and in total."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from convcost.core.analysis import Analysis, Variant
from convcost.errors import Context
from convcost.reference.counts import ReferenceCount, Tool
from convcost.reference.reconcile import Agreement, reconcile

MAX_REFERENCE_WEIGHT_BYTES = 4 << 30
"""A reference count runs the real model on the CPU; past this many bytes of float32 weights it
is skipped with a note rather than risking the machine's memory."""


MEMORY_SHARE = 0.5
"""A reference count may use at most this share of the memory available when it starts."""


def memory_budget() -> int:
    """Bytes a reference count may use: MEMORY_SHARE of the available memory (Linux
    MemAvailable, else physical memory, else 8 GiB)."""
    import os

    available = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        available = 0
    if not available:
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 8 << 30
    return int(available * MEMORY_SHARE)


def memory_reason(estimate: int) -> str | None:
    """Why a reference count that needs about ``estimate`` bytes is skipped, or None."""
    budget = memory_budget()
    if estimate <= budget:
        return None
    return (f"reference skipped: running the real model needs about {estimate / 2**30:,.1f} GiB, "
            f"more than {MEMORY_SHARE:.0%} of the available memory ({budget / 2**30:,.1f} GiB)")


def estimate_bytes(analysis: Analysis) -> int:
    """Upper bound of a float32 forward's memory: every activation and parameter at once (the
    memory traffic counts each once), at 4 bytes an element."""
    size = max(1, analysis.dtype.itemsize)
    return analysis.totals.bytes * 4 // size


def skip_reason(rewritten_as: Variant, params: int) -> str | None:
    """Why no reference count can be made for this analysis, or None when one can."""
    if rewritten_as is not Variant.AS_WRITTEN:
        return (f"reference skipped: it counts the network as written, and --as {rewritten_as} "
                "rewrote it")
    if params * 4 > MAX_REFERENCE_WEIGHT_BYTES:
        return "reference skipped: the model's weights would not fit in memory"
    return None


@dataclass(frozen=True)
class ModelAgreement:
    tool: Tool
    count: ReferenceCount
    total: Agreement
    layers: dict[str, Agreement] = field(default_factory=dict)
    """Row name (leaf or collapsed block) -> agreement, for names the reference knows."""


def agreement_for(
    tool: Tool, count: ReferenceCount, analysis: Analysis, names_macs: Sequence[tuple[str, int]],
    known_skips: Mapping[str, Mapping[str, int]] | None = None,
) -> ModelAgreement:
    """``known_skips``: row name ('' for the total) -> what the tool is known not to count
    there (see :func:`~convcost.reference.reconcile.reconcile`)."""
    skips = known_skips or {}
    # a module called more than once has rows name, name#2, ...; a reference has one entry
    repeated: dict[str, int] = {}
    for name, macs in names_macs:
        base = name.split("#", 1)[0]
        repeated[base] = repeated.get(base, 0) + macs
    names_macs = [(name, repeated[name]) for name, _ in names_macs if "#" not in name]
    layers = {
        name: reconcile(str(tool), macs, count.by_module[name], known_skips=skips.get(name))
        for name, macs in names_macs
        if name in count.by_module
    }
    total = reconcile(str(tool), analysis.totals.macs, count.by_operator,
                      unsupported=count.unsupported, known_skips=skips.get(""))
    return ModelAgreement(tool, count, total, layers)


def count_module(tool: Tool, module: Any, inputs: Sequence[Any]) -> ReferenceCount:
    """Count a real (CPU) module with fvcore or torch's counter, in eval mode, no grad."""
    if tool is Tool.ONNX_TOOL:
        from convcost.errors import InputError

        raise InputError("onnx-tool counts ONNX files only; use fvcore or torch here",
                         Context(flag="--reference"))
    import torch

    from convcost.reference.fvcore_count import fvcore_count
    from convcost.reference.torch_count import torch_count

    # One thread: a reference needs the shapes of one forward pass, not its speed, and a
    # thread pool's start-up (and spinning, on a busy machine) cost more than the arithmetic.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            if tool is Tool.FVCORE:
                return fvcore_count(module, inputs)
            return torch_count(module, inputs)
    finally:
        torch.set_num_threads(threads)
