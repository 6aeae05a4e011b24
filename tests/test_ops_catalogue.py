"""The op catalogue (convcost/ops): an op is one module, and the registries find it whoever
asks first. Ops whose vocabulary was added there (ONNX GridSample, Einsum) give what the torch
front-end gives on the same model."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

import convcost
import convcost.ops
from convcost.core.formula_table import FORMULAS, SHAPES

ROOT = Path(convcost.__file__).parent
"""The installed package (a wheel's, in CI's second run)."""
REPO = Path(__file__).resolve().parents[1]


def _catalogue_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(convcost.ops.__path__, "convcost.ops."))


def test_nothing_below_or_beside_the_catalogue_names_an_op_of_it() -> None:
    """The front-ends, the builder, core and everything above know registries, not ops: no
    module outside convcost/ops imports it, and one function loads it by name."""
    importers, loaders = [], []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "ops":
            continue
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            importers += [f"{rel}:{node.lineno}" for n in names  # type: ignore[attr-defined]
                          if n == "convcost.ops" or n.startswith("convcost.ops.")]
        if '"convcost.ops"' in text:
            loaders.append(str(rel))
    assert importers == []
    assert loaders == ["catalog.py"]


def test_every_module_of_the_catalogue_is_loaded() -> None:
    code = ("import sys\nfrom convcost import catalog\ncatalog.load()\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('convcost.ops.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == _catalogue_modules()
    assert len(_catalogue_modules()) >= 9


def test_an_op_of_the_catalogue_lives_in_one_module() -> None:
    """Its class, formula, shape rule and torch module are defined in the same module, and so
    is every YAML kind, aten handler and ONNX handler a catalogue module registers."""
    from convcost.build.registry import _BUILDERS as BUILDERS
    from convcost.frontends.onnx_tables import _HANDLERS, handled
    from convcost.frontends.torch.registry import _NAMED as NAMED
    from convcost.frontends.yaml_format import kinds

    _BUILDERS = BUILDERS.loaded()
    handled()
    ONNX = _HANDLERS.entries
    _NAMED = NAMED.loaded()
    ops = [v for v in vars(convcost.ops).values()
           if isinstance(v, type) and v.__module__.startswith("convcost.ops.")]
    assert len(ops) >= 8
    for op in ops:
        home = op.__module__
        assert FORMULAS[op].__module__ == SHAPES[op].__module__ == home, op
        if op in _BUILDERS:
            assert _BUILDERS[op].__module__ == home, op
    registered = [*(k.compile for k in kinds().values()), *_NAMED.values(), *ONNX.values()]
    homes = {fn.__module__ for fn in registered if fn.__module__.startswith("convcost.ops.")}
    assert homes >= {"convcost.ops.upsample", "convcost.ops.recurrent", "convcost.ops.einsum",
                     "convcost.ops.squeeze_excite", "convcost.ops.channel_shuffle"}


def test_the_yaml_path_loads_the_catalogue_without_torch_or_onnx() -> None:
    code = ("import sys\nfrom convcost.frontends.yaml_spec import load_spec\n"
            "load_spec('configs/mobilenet_v3_large.yaml')\n"
            "assert 'convcost.ops.upsample' in sys.modules\n"
            "print(sorted(m for m in ('torch', 'onnx', 'fvcore') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_registry_asked_first_is_complete() -> None:
    """Whichever registry a process asks first (ONNX, builder, torch, YAML), it already holds
    the catalogue's entries."""
    asks = {
        "onnx": "from convcost.frontends.onnx_tables import handler_for\n"
                "assert handler_for('Resize') is not None and handler_for('LSTM') is not None",
        "builder": "from convcost.build.registry import buildable\n"
                   "assert {t.__name__ for t in buildable()} >= {'Upsample', 'Recurrent'}",
        "torch": "from convcost.frontends.torch.registry import handler_for, packet\n"
                 "assert handler_for(packet('aten.upsample_bilinear2d')) is not None",
        "yaml": "from convcost.frontends.yaml_format import kinds\n"
                "assert {'upsample', 'squeeze_excite', 'conv', 'block'} <= set(kinds())",
        "formulas": "from convcost.core.registry import registered\n"
                    "assert 'Upsample' in {t.__name__ for t in registered()}",
    }
    for what, code in asks.items():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, (what, out.stderr)


def test_registering_a_name_twice_is_refused_in_every_registry() -> None:
    from convcost.build.registry import builds
    from convcost.core.registry import RegistryError
    from convcost.frontends.onnx_tables import handles as onnx_op
    from convcost.frontends.torch.registry import RegistryError as TorchRegistryError
    from convcost.frontends.torch.registry import handles as torch_op
    from convcost.frontends.yaml_format import kinds, yaml_kind

    kinds()
    with pytest.raises(RuntimeError):
        yaml_kind("upsample")(lambda c, o, n, s: (None, s))  # type: ignore[arg-type, return-value]
    with pytest.raises(TorchRegistryError):
        torch_op("aten.upsample_nearest2d")(lambda *a: None)
    with pytest.raises(RuntimeError):
        onnx_op("Resize")(lambda w, n: None)
    with pytest.raises(RegistryError):
        builds(convcost.ops.Upsample)(lambda op, rank: None)


# ---------------------------------------------------------------- new ONNX vocabulary

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from torch import nn  # noqa: E402


def _export(model: Any, shapes: list[tuple[int, ...]], path: Path, opset: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), tuple(torch.rand(s) for s in shapes), str(path),
                          opset_version=opset, dynamo=False)


def _onnx_and_torch(model: Any, shapes: list[tuple[int, ...]], tmp_path: Path,
                    opset: int) -> tuple[Any, Any]:
    from convcost.frontends.onnx_api import analyze_onnx_file
    from convcost.frontends.torch_api import analyze_model

    path = tmp_path / "m.onnx"
    _export(model, shapes, path, opset)
    return analyze_onnx_file(str(path))[0], analyze_model(model, shapes)


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_onnx_grid_sample_is_costed_as_torch_costs_it(mode: str, tmp_path: Path) -> None:
    class Warp(nn.Module):
        def forward(self, x: Any, grid: Any) -> Any:
            return torch.nn.functional.grid_sample(x, grid, mode=mode, align_corners=False)

    shapes: list[tuple[int, ...]] = [(2, 3, 8, 8), (2, 5, 4, 2)]
    ours, theirs = _onnx_and_torch(Warp(), shapes, tmp_path, opset=16)
    assert not ours.uncounted and not ours.lower_bound
    taps = {"bilinear": 4, "nearest": 1, "bicubic": 16}[mode]
    assert ours.totals.other_ops == theirs.totals.other_ops == 2 * 3 * 5 * 4 * taps
    assert [r.record.op for r in ours.rows] == [r.record.op for r in theirs.rows]


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
     ("ij,j->i", [(3, 4), (4,)])],
)
def test_onnx_einsum_is_costed_as_torch_costs_it(equation: str, shapes: list[tuple[int, ...]],
                                                 tmp_path: Path) -> None:
    class E(nn.Module):
        def forward(self, a: Any, b: Any) -> Any:
            return torch.einsum(equation, a, b)

    ours, theirs = _onnx_and_torch(E(), shapes, tmp_path, opset=17)
    assert not ours.uncounted
    points = 1
    for n in {c: s for t, shape in zip(equation.split("->")[0].split(","), shapes, strict=True)
              for c, s in zip(t, shape, strict=True)}.values():
        points *= n
    assert ours.totals.macs == theirs.totals.macs == points


def test_onnx_einsum_of_three_operands_is_listed_not_guessed(tmp_path: Path) -> None:
    class E(nn.Module):
        def forward(self, a: Any, b: Any, c: Any) -> Any:
            return torch.einsum("ij,jk,kl->il", a, b, c)

    from convcost.frontends.onnx_api import analyze_onnx_file

    path = tmp_path / "e3.onnx"
    _export(E(), [(2, 3), (3, 4), (4, 5)], path, 17)
    a = analyze_onnx_file(str(path))[0]
    assert a.lower_bound and [u.op for u in a.uncounted] == ["Einsum"]


def test_importing_each_catalogue_module_alone_works() -> None:
    for name in _catalogue_modules():
        code = f"import {name}"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, (name, out.stderr)
        importlib.import_module(name)


def test_the_einsum_module_says_how_fvcore_counts_it() -> None:
    """fvcore counts an einsum's contraction as multiply-adds, and batch-norm as well: with the
    op module's word that 'einsum' is a product, the difference is explained by batch-norm
    alone (without it, the two counts would be marked as disagreeing)."""
    pytest.importorskip("fvcore")
    import convcost as cc
    from convcost.reference.products import mac_operators
    from convcost.reference.reconcile import Status

    class E(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm1d(3)

        def forward(self, a: Any, b: Any) -> Any:
            return self.bn(torch.einsum("bij,bjk->bik", a, b))

    assert "einsum" in mac_operators()
    report = cc.analyze(E(), input_shape=[(2, 3, 4), (2, 4, 5)], reference=("fvcore",))
    total = report.reference["fvcore"].total
    assert report.totals.macs == 2 * 3 * 4 * 5
    assert total.status is Status.EXPLAINED and "batch_norm" in total.reason, total
