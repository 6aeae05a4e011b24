"""The pure core (and the library's light paths) import no torch, yaml or rich."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    return set(out.stdout.split())


def test_core_imports_no_heavy_or_presentation_dependency() -> None:
    mods = _modules_after("import convcost.core, convcost.core.analysis")
    for heavy in ("torch", "yaml", "rich", "fvcore", "typer"):
        assert heavy not in mods, f"convcost.core imported {heavy}"


def test_compare_without_reference_imports_no_torch() -> None:
    code = (
        "from typer.testing import CliRunner\n"
        "from convcost.cli.app import app\n"
        "r = CliRunner().invoke(app, ['compare', '--in', '8', '--out', '8', '--no-reference'])\n"
        "assert r.exit_code == 0, r.output\n"
    )
    mods = _modules_after(code)
    assert "torch" not in mods and "fvcore" not in mods
