"""Torch archives for the hostile-input tests (torch needed): truncated and corrupt ones, a
``torch.save`` pickle, and a ``.pt2`` in the legacy layout whose state dict is a pickle that
would create a marker file if it were ever unpickled."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any


class _Payload:
    """Unpickling this creates ``marker`` (open(marker, 'w'))."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def _small() -> Any:
    import torch

    class Small(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    return Small()


def evil_pt2(path: Path, marker: Path) -> None:
    """A legacy-layout .pt2 (as torch < 2.7 wrote it) with a code-running state dict."""
    import torch
    from torch._export.serde.schema import SCHEMA_VERSION
    from torch._export.serde.serialize import serialize

    program = torch.export.export(_small(), (torch.zeros(1, 3, 8, 8),))
    art = serialize(program)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("version", ".".join(map(str, SCHEMA_VERSION)))
        z.writestr("serialized_exported_program.json", art.exported_program)
        z.writestr("serialized_state_dict.pt", pickle.dumps(_Payload(marker)))
        z.writestr("serialized_constants.pt", art.constants)
        z.writestr("serialized_example_inputs.pt", art.example_inputs)


def write_archives(folder: Path, marker: Path) -> None:
    import warnings

    import torch

    evil_pt2(folder / "evil.pt2", marker)
    program = torch.export.export(_small(), (torch.zeros(1, 3, 8, 8),))
    torch.export.save(program, folder / "good.pt2")
    data = (folder / "good.pt2").read_bytes()
    (folder / "truncated.pt2").write_bytes(data[: len(data) // 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(_small()), str(folder / "good.ts"))
    data = (folder / "good.ts").read_bytes()
    (folder / "truncated.ts").write_bytes(data[: len(data) // 2])
    torch.save(_Payload(marker), folder / "pickled.pt")
