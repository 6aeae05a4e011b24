"""Structural promises of the library: complete registries, hashable errors."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import convcost
from convcost.errors import ConvcostError, InputError


def _all_subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    subs: list[type] = cls.__subclasses__()
    for sub in subs:
        out |= {sub, *_all_subclasses(sub)}
    return out


def _import_light_modules() -> None:
    for info in pkgutil.walk_packages(convcost.__path__, "convcost."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # a module that needs an optional dependency
            continue


def test_every_error_hashes_and_compares_by_identity() -> None:
    assert isinstance(hash(InputError("x")), int)
    _import_light_modules()
    for cls in {ConvcostError, *_all_subclasses(ConvcostError)}:
        err = cls("x")
        assert hash(err) == hash(err), cls
        assert err == err and err != cls("x"), cls
        assert {err: 1}[err] == 1


def test_formula_registry_is_complete_when_imported() -> None:
    code = (
        "from convcost.core.registry import registered\n"
        "before = set(registered())\n"
        "from convcost.core import ops\n"
        "from convcost.core.registry import cost_of\n"
        "cost_of(ops.Flatten(), [(1, 2, 3)])\n"
        "assert before and before == set(registered()), (before, registered())\n"
        "print(len(before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 10


def test_one_dtype_vocabulary_for_flags_yaml_and_torch_inputs() -> None:
    import torch

    from convcost.core.dtypes import DType
    from convcost.frontends.torch_source import parse_dtype

    for d in DType:
        value = getattr(torch, d.value)
        assert isinstance(value, torch.dtype), d
        assert d.itemsize == value.itemsize, d
        assert d.is_floating == value.is_floating_point, d
        assert parse_dtype(d.value) == d.value
        assert DType.parse(f"torch.{d.value}") is d
    for word, name in {"fp16": "float16", "long": "int64", "int": "int32", "bf16": "bfloat16",
                       "half": "float16", "double": "float64", "bool": "bool"}.items():
        assert DType.parse(word).value == parse_dtype(word) == name


def test_flops_per_mac_is_written_once() -> None:
    import re
    from pathlib import Path

    root = Path(convcost.__file__).parent
    hits = [f"{p.relative_to(root)}:{i}"
            for p in sorted(root.rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if re.search(r"\b2 \* [\w.\[\]\"']*macs|macs[\w.\[\]\"']* \* 2\b", line)]
    assert hits == []


def test_every_op_says_its_label_geometry_and_group_and_has_a_formula() -> None:
    from dataclasses import is_dataclass

    import convcost.ops
    from convcost.core import ops
    from convcost.core.formula_table import SHAPES
    from convcost.core.registry import registered

    op_types = {t for t in _all_subclasses(ops.OpInfo) if is_dataclass(t)}
    core_types = {v for v in vars(ops).values() if isinstance(v, type) and v in op_types}
    catalogue = {v for v in vars(convcost.ops).values() if isinstance(v, type) and v in op_types}
    assert len(core_types) >= 18 and len(catalogue) >= 8
    assert op_types == core_types | catalogue  # every op is core's or the catalogue's
    assert op_types == set(registered())
    assert op_types == set(SHAPES)  # a shape rule apart from every formula
    for t in op_types:
        for method in ("label", "geometry", "group"):
            assert callable(getattr(t, method)), (t, method)
        assert isinstance(vars(t).get("kind"), property), t  # its own kind, says the op


def test_the_torch_module_registry_refuses_a_second_builder() -> None:
    import pytest

    from convcost.build.registry import buildable, builds, layer_for
    from convcost.core.ops import Conv
    from convcost.core.registry import RegistryError
    from convcost.ops import Nms

    assert Conv in buildable() and Nms not in buildable()
    with pytest.raises(RegistryError):
        builds(Conv)(lambda op, rank: layer_for(op, rank))
    with pytest.raises(TypeError, match="no torch layer for Nms"):
        layer_for(Nms())


def test_cli_commands_are_plain_functions_registered_once() -> None:
    code = (
        "import sys\n"
        "from convcost.cli import analyze, check, compare, diff, sweep\n"
        "assert 'convcost.cli.app' not in sys.modules, 'a command module imports the app'\n"
        "from convcost.cli.app import app\n"
        "names = sorted(c.name or c.callback.__name__ for c in app.registered_commands)\n"
        "assert names == ['analyze', 'check', 'compare', 'diff', 'sweep'], names\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


LAYERS = ("base", "core", "frontends", "build", "reference", "ops", "budget", "report",
          "pipeline", "api", "cli", "top")
"""convcost's packages from the bottom up: a module imports only from its layer or below
(``top`` is the package's own ``__init__``: ``convcost.analyze``)."""


def _layer(module: str) -> str:
    part = module.split(".")[1] if "." in module else "top"
    if part in ("_compat", "errors", "_interrupt", "cli_signal", "catalog", "registry_table",
                "__main__"):
        return "base" if part != "__main__" else "cli"
    return "api" if part in ("api", "api_checks") else part


def test_no_module_imports_upward() -> None:
    import ast
    from pathlib import Path

    root = Path(convcost.__file__).parent
    upward = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("convcost", *path.relative_to(root).with_suffix("").parts))
        here = LAYERS.index(_layer(module.removesuffix(".__init__")))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("convcost.") and LAYERS.index(_layer(name)) > here:
                    upward.append(f"{module}:{getattr(node, 'lineno', 0)} imports {name}")
    assert upward == []


def test_named_macs_names_the_report_lines() -> None:
    from pathlib import Path

    from convcost.core.analysis import named_macs
    from convcost.frontends.yaml_records import analyze_spec
    from convcost.frontends.yaml_spec import load_spec
    from convcost.report.analysis import lines_of

    config = Path(__file__).resolve().parents[1] / "configs" / "mobilenet_v1.yaml"
    a = analyze_spec(load_spec(config))
    for depth in (None, 1, 2):
        assert named_macs(a, depth) == [(x.name, x.cost.macs) for x in lines_of(a, depth)]


def test_front_ends_read_and_the_pipeline_costs() -> None:
    from pathlib import Path

    import torch

    from convcost.core.analysis import analyze_read
    from convcost.core.records import SourceRead
    from convcost.frontends.source_kind import split_target
    from convcost.frontends.torch_api import call_for, read_model
    from convcost.frontends.torch_source import load_source
    from convcost.frontends.yaml_records import analyze_spec, read_spec
    from convcost.frontends.yaml_spec import load_spec

    root = Path(__file__).resolve().parents[1]
    spec = load_spec(root / "configs" / "mobilenet_v1.yaml")
    read = read_spec(spec)
    assert isinstance(read, SourceRead) and read.records and read.name == spec.name
    assert analyze_read(read).totals == analyze_spec(spec).totals
    source = str(root / "tests" / "models" / "sources.py") + ":small"
    assert split_target(source)[1] == "small"
    loaded = load_source(source)
    call, _ = call_for(loaded, "1,3,8,8", None, "float32")
    torch_read, _ = read_model(loaded, call, "small", source, None, False, True)
    assert isinstance(torch_read, SourceRead) and torch_read.dtype == "float32"
    assert analyze_read(torch_read).totals.macs == 4 * 3 * 9 * 64 + 4 * 2
    assert torch.get_default_dtype() == torch.float32


def test_the_yaml_compiler_learns_shapes_without_costing() -> None:
    from pathlib import Path

    from convcost.core.formula_table import SHAPES
    from convcost.core.registry import cost_of, shape_of
    from convcost.frontends.yaml_records import read_spec
    from convcost.frontends.yaml_spec import load_spec

    configs = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
    assert configs
    for config in configs:
        for rec in read_spec(load_spec(config)).records:
            assert type(rec.op) in SHAPES, (config.name, type(rec.op).__name__)
            assert shape_of(rec.op, rec.inputs) == cost_of(rec.op, rec.inputs).output_shape
