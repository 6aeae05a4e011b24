"""`convcost diff A B`: what changed, layer by layer, between two models, a model and a
baseline, or one model at two git revisions."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from convcost.cli import console
from convcost.errors import Context, InputError
from convcost.frontends.source_kind import is_yaml, split_target
from convcost.report.formats import Format

if TYPE_CHECKING:
    from convcost.budget.layer_diff import LayerCost

EXAMPLE = """[b]Examples[/b]

  convcost diff configs/mobilenet_v1.yaml configs/mobilenet_v2.yaml

  convcost diff models/net.py:Net --rev HEAD~1 --input 1,3,224,224

  convcost diff models/net.py:Net --rev main --rev HEAD --input 1,3,224,224 --format markdown

  convcost diff .convcost/baseline.json#mobilenet_v1 configs/mobilenet_v1.yaml

  convcost diff a.yaml b.yaml --fail-on-increase

With one --rev, A at that revision is compared with the working tree; with two, the first \
revision with the second. A baseline (a .json written by convcost check --update-baseline) is \
read as the check named after '#' (or by --check, or the one check it holds).

Exit codes: 0 the diff was printed; 1 with --fail-on-increase when MACs, params or bytes \
grew; 2 bad input; 3 a model could not be analysed.
"""


@dataclass(frozen=True)
class Loaded:
    label: str
    model: str
    layers: tuple[LayerCost, ...]
    totals: dict[str, int]
    input_shapes: tuple[tuple[int, ...], ...]
    per_layer: bool = True


# ---------------------------------------------------------------- git revisions


def _git(args: list[str], cwd: str, flag: str) -> bytes:
    import subprocess  # here, not at start-up: only diff --rev runs git

    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed", Context(flag=flag)) from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"git {args[0]}: {message[-1] if message else 'failed'}",
                         Context(flag=flag))
    return done.stdout


def split_source(source: str) -> tuple[str, str]:
    """``models/net.py:Net`` -> (``models/net.py``, ``:Net``); a path alone -> (path, '')."""
    path, name = split_target(source)
    return path, "" if name is None else f":{name}"


def _is_file_source(source: str) -> bool:
    path, _ = split_source(source)
    return path.endswith((".py", ".yaml", ".yml", ".pt", ".ts", ".pt2", ".pth", ".jit",
                          ".onnx")) or os.sep in path or "/" in path


@contextlib.contextmanager
def at_revision(source: str, rev: str, flag: str = "--rev") -> Iterator[str]:
    """The source as it was at git revision ``rev``: the repository's tree at that revision is
    extracted to a temporary directory (so a model file's local imports come from the same
    revision) and the source is rewritten to point into it."""
    import tarfile
    import tempfile

    cwd = os.getcwd()
    top = _git(["rev-parse", "--show-toplevel"], cwd, flag).decode().strip()
    _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top, flag)
    with tempfile.TemporaryDirectory(prefix="convcost-rev-") as tmp:
        archive = Path(tmp) / "tree.tar"
        archive.write_bytes(_git(["archive", "--format=tar", rev], top, flag))
        root = Path(tmp) / "tree"
        root.mkdir()
        with tarfile.open(archive) as tar:
            try:
                tar.extractall(root, filter="data")
            except TypeError:  # pragma: no cover - Python without extraction filters
                tar.extractall(root)
        rel_cwd = os.path.relpath(cwd, top)
        if _is_file_source(source):
            path, name = split_source(source)
            rel = os.path.relpath(os.path.abspath(path), top)
            if rel.startswith(".."):
                raise InputError(f"{path} is not inside the git repository {top}",
                                 Context(flag=flag))
            moved = root / rel
            if not moved.exists():
                raise InputError(f"{rel} does not exist at revision {rev}", Context(flag=flag))
            yield str(moved) + name
        else:  # package.module:factory, imported from the working directory at that revision
            mirror = str(root / rel_cwd)
            sys.path.append(mirror)  # after the installed packages: it never shadows one
            try:
                yield source
            finally:
                with contextlib.suppress(ValueError):
                    sys.path.remove(mirror)


@contextlib.contextmanager
def fresh_imports(*roots: str) -> Iterator[None]:
    """Forget user modules imported while analysing one side, so that the other side imports
    its own version of them (two revisions of ``layers.py`` in one process)."""
    before = set(sys.modules)
    package = str(Path(__file__).resolve().parents[1])
    try:
        yield
    finally:
        folders = [str(Path(r).resolve()) for r in roots]
        for name in set(sys.modules) - before:
            file = getattr(sys.modules.get(name), "__file__", None)
            if not file:
                continue
            where = str(Path(file).resolve())
            if where.startswith(package):
                continue
            if any(where.startswith(f + os.sep) for f in folders) or name.startswith(
                    "_convcost_user_"):
                del sys.modules[name]
        importlib.invalidate_caches()


# ---------------------------------------------------------------- sides


def _baseline_side(text: str, check: str | None, other: str | None) -> Loaded | None:
    path, _, name = text.partition("#")
    if not path.lower().endswith(".json"):
        return None
    from convcost.budget.baseline import load_baseline
    from convcost.budget.layer_diff import totals_of

    baseline = load_baseline(path)
    if baseline is None:
        raise InputError("no such file", Context(file=path))
    wanted = name or check
    entries = baseline.entries
    if wanted is None:
        matching = [k for k, e in entries.items() if other is not None and e.model == other
                    and e.scope is None]
        if len(matching) == 1:
            wanted = matching[0]
        elif len(entries) == 1:
            wanted = next(iter(entries))
        else:
            raise InputError("the baseline holds several checks; name one as "
                             f"{path}#NAME or with --check (one of: {', '.join(entries)})",
                             Context(file=path))
    entry = entries.get(wanted)
    if entry is None:
        raise InputError(f"no check {wanted!r} in the baseline (it has: {', '.join(entries)})",
                         Context(file=path))
    totals = {str(m): v for m, v in entry.counts.items()}
    layers = entry.layers or ()
    if entry.layers is not None:
        totals = {**totals_of(layers), **totals}
    return Loaded(f"{path}#{wanted}", entry.model, layers, totals, entry.input_shapes,
                  entry.layers is not None)


def _model_side(source: str, label: str, opts: Any) -> Loaded:
    from convcost.budget.layer_diff import layer_costs
    from convcost.pipeline.run import run

    if is_yaml(source):  # --input and --kwargs are the other side's
        opts = dataclasses.replace(opts, inputs=(), kwargs=None)
    analysis = run(source, opts).analysis
    t = analysis.totals
    totals = {"macs": t.macs, "flops": t.flops, "params": t.params, "weights": t.weights,
              "other_ops": t.other_ops, "bytes": t.bytes}
    return Loaded(label, analysis.name, layer_costs(analysis.rows), totals,
                  tuple(tuple(s) for s in analysis.input_shapes))


def load_side(text: str, opts: Any, *, rev: str | None = None, check: str | None = None,
              other: str | None = None) -> Loaded:
    """One side of a diff: a baseline (``file.json#check``), or a model source, at ``rev``
    when given."""
    import tempfile

    if rev is None:
        side = _baseline_side(text, check, other)
        if side is not None:
            return side
        with fresh_imports(os.getcwd()):
            return _model_side(text, text, opts)
    with at_revision(text, rev) as moved, fresh_imports(os.getcwd(), tempfile.gettempdir()):
        return _model_side(moved, f"{text}@{rev}", opts)


# ---------------------------------------------------------------- the command


def diff(
    a: str = typer.Argument(..., metavar="A",
                            help="The model before: a source (YAML, torch, ...) or a baseline."),
    b: str | None = typer.Argument(None, metavar="[B]",
                                   help="The model after (default with --rev: A itself)."),
    revs: list[str] = typer.Option(
        [], "--rev", metavar="REV",
        help="Read A from this git revision (repeat for the B side's revision too)."),
    inputs: list[str] = typer.Option(
        [], "--input", "-i", metavar="SHAPE[:DTYPE]",
        help="Input shape with batch for torch sources, e.g. 1,3,224,224."),
    kwargs: str | None = typer.Option(None, "--kwargs", help="JSON arguments for the factory."),
    check: str | None = typer.Option(None, "--check", metavar="NAME",
                                     help="Which check of a baseline file to read."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f",
                               help="table, json or markdown (a PR comment)."),
    fail_on_increase: bool = typer.Option(
        False, "--fail-on-increase", help="Exit 1 when total MACs, params or bytes grew."),
) -> None:
    """Compare two models layer by layer: added, removed and resized layers, largest first."""
    from convcost import __version__
    from convcost.budget.layer_diff import diff as make_diff
    from convcost.cli.analyze import parse_kwargs
    from convcost.frontends.onnx_load import is_onnx, parse_onnx_input
    from convcost.frontends.torch_source import parse_input_spec
    from convcost.pipeline.run import Options
    from convcost.report import diff as report

    if fmt is Format.CSV:
        raise InputError("use table, json or markdown", Context(flag="--format"))
    if len(revs) > 2:
        raise InputError("give at most two revisions", Context(flag="--rev"))
    if b is None and not revs:
        raise InputError("give two models, or one model and --rev REV", Context(flag="B"))
    if b is not None and len(revs) == 2:
        raise InputError("two revisions compare one source with itself; give only A",
                         Context(flag="--rev"))
    specs: list[Any] = []
    onnx_side = is_onnx(a) or is_onnx(b or "")
    for text in inputs:
        try:
            specs += parse_onnx_input(text) if onnx_side else parse_input_spec(text)
        except InputError as e:
            raise e.within(flag="--input") from None
    opts = Options(inputs=tuple(specs), kwargs=parse_kwargs(kwargs), reference=())
    if (specs or opts.kwargs) and all(is_yaml(s) for s in (a, b or a)):
        raise InputError("both models are YAML descriptions, which carry their own input "
                         "shapes; remove --input and --kwargs",
                         Context(flag="--input" if specs else "--kwargs"))
    rev_a = revs[0] if revs else None
    rev_b = revs[1] if len(revs) == 2 else None
    b_text = b if b is not None else a
    with console.status("Analysing both models…"), console.user_code():
        side_a = load_side(a, opts, rev=rev_a, check=check, other=b_text)
        side_b = load_side(b_text, opts, rev=rev_b, check=check, other=a)
    notes = []
    for side in (side_a, side_b):
        if not side.per_layer:
            notes.append(f"{side.label} has totals only (a baseline written before per-layer "
                         "costs were recorded; rewrite it with --update-baseline): only totals "
                         "are compared")
    if side_a.input_shapes and side_b.input_shapes and \
            side_a.input_shapes != side_b.input_shapes:
        notes.append("the two sides were measured on different input shapes: "
                     f"{_shapes(side_a.input_shapes)} and {_shapes(side_b.input_shapes)}")
    result = make_diff(side_a.layers, side_b.layers, totals_before=side_a.totals,
                       totals_after=side_b.totals)
    if not side_a.per_layer or not side_b.per_layer:
        result = make_diff((), (), totals_before=side_a.totals, totals_after=side_b.totals)
    doc = report.DiffReport(
        result,
        report.Side(side_a.label, side_a.model, side_a.input_shapes, side_a.per_layer),
        report.Side(side_b.label, side_b.model, side_b.input_shapes, side_b.per_layer),
        tuple(notes))
    if fmt is Format.JSON:
        console.print_data(report.to_json_text(doc, __version__))
    elif fmt is Format.MARKDOWN:
        console.print_data(report.to_markdown_text(doc))
    else:
        console.print_table(report.to_table(doc))
    if fail_on_increase and result.increased:
        raise typer.Exit(1)


def _shapes(shapes: tuple[tuple[int, ...], ...]) -> str:
    return "; ".join("×".join(map(str, s)) for s in shapes)
