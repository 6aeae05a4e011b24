"""`convcost analyze`: a model, layer by layer, with both forms of every convolution."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from convcost.cli import console, options, parse
from convcost.errors import Context, InputError
from convcost.frontends.source_kind import is_onnx, split_target
from convcost.reference.counts import Tool
from convcost.report.formats import Format

if TYPE_CHECKING:
    from rich.console import RenderableType

    from convcost.core.analysis import Variant
    from convcost.report.analysis import ModelReport

_ARCHIVES = "convcost.frontends.torch_archive"

EXAMPLE = """[b]Examples[/b]

  convcost analyze configs/mobilenet_v1.yaml

  convcost analyze configs/mobilenet_v1.yaml --as standard --no-reference --format json

  convcost analyze torchvision:resnet18 --depth 2

  convcost analyze timm:efficientnet_b0 --reference fvcore,torch

  convcost analyze hf:gpt2 --kwargs '{"n_layer": 2}' --input input_ids=1,64:int64

  convcost analyze model.onnx --input input=1,3,224,224

  convcost analyze model.py:Net --kwargs '{"num_classes": 10}' --input 1,3,32,32
"""


def parse_references(flag: str, text: str) -> tuple[Tool, ...]:
    tools = []
    for word in (w.strip().lower() for w in text.split(",") if w.strip()):
        try:
            tools.append(Tool(word))
        except ValueError:
            allowed = ", ".join(t.value for t in Tool)
            raise InputError(f"unknown reference {word!r}; use {allowed}",
                             Context(flag=flag)) from None
    return tuple(dict.fromkeys(tools))


def parse_kwargs(text: str | None) -> dict[str, object] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"not JSON: {e.msg} at column {e.colno}",
                         Context(flag="--kwargs")) from None
    except (ValueError, RecursionError) as e:  # a 5,000-digit integer, a deeply nested list
        raise InputError(f"not usable JSON: {type(e).__name__}", Context(flag="--kwargs")) from None
    if not isinstance(value, dict):
        raise InputError("must be a JSON object, e.g. '{\"num_classes\": 10}'",
                         Context(flag="--kwargs"))
    return value


def parse_as(text: str | None) -> Variant:
    from convcost.core.analysis import Variant  # the variants machinery, only when asked

    if text is None:
        return Variant.AS_WRITTEN
    word = text.strip().lower()
    if word in ("standard", "separable"):
        return Variant(word)
    raise InputError(f"{text!r} is not allowed; use 'standard' or 'separable'",
                     Context(flag="--as"))


def _table(result: ModelReport) -> RenderableType:
    """The layer table (its renderer, and Rich's tables, imported only when one is made)."""
    from convcost.report.analysis_table import to_table

    return to_table(result)


def _markdown(result: ModelReport) -> str:
    from convcost.report.analysis_table import to_markdown_text

    return to_markdown_text(result)


def analyze(
    source: str = typer.Argument(
        ..., metavar="SOURCE",
        help="A YAML description (model.yaml), an ONNX file (model.onnx), "
        "package.module:factory, file.py:Name, a TorchScript file, a torch.export .pt2 "
        "archive, torchvision:NAME, timm:NAME or hf:MODEL_TYPE.",
    ),
    inputs: list[str] = typer.Option(
        [], "--input", "-i", metavar="[NAME=]SHAPE[:DTYPE]",
        help="Input shape with batch, e.g. 1,3,224,224 or 1,128:int64 (repeat for several); "
        "NAME=... for a keyword input (an ONNX model's input by name), (A; B) for a tuple, "
        "NAME=True / 0.5 / int:3 for a Python value. Zoo sources (torchvision:, timm:, hf:) "
        "default to their own input.",
    ),
    kwargs: str | None = typer.Option(None, "--kwargs", help="JSON arguments for the factory."),
    rewrite: str | None = typer.Option(
        None, "--as", metavar="standard|separable",
        help="Rewrite every dw+pw pair as one conv, or every k×k conv as dw+pw.",
    ),
    depth: int | None = typer.Option(None, "--depth", "-d", help="Collapse rows below depth N."),
    width_mult: float | None = typer.Option(
        None, "--width-mult", "-a", help="MobileNet width multiplier α (YAML; default 1)."),
    resolution: int | None = typer.Option(None, "--resolution", "-r",
                                          help="Input resolution (YAML)."),
    batch: int | None = typer.Option(None, "--batch", help="Batch size (YAML; default 1)."),
    dtype: str | None = typer.Option(
        None, "--dtype", help="Element type for memory traffic (default: the model's own, "
        "else float32)."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f", help="Output format."),
    export: Path | None = typer.Option(
        None, "--export", metavar="FILE.svg|FILE.html", help="Also save the rendered report."
    ),
    reference: str = typer.Option(
        "fvcore", "--reference", metavar="fvcore[,torch]",
        help="Reference counters to hold ours against (onnx-tool for an ONNX file).",
    ),
    no_reference: bool = typer.Option(False, "--no-reference", help="Skip reference counts."),
    strict: bool = typer.Option(False, "--strict",
                                help="Exit 3 when an op could not be costed or a reference "
                                "could not count the model."),
    no_execute: bool = typer.Option(
        False, "--no-execute",
        help="Never run the model for real: a forward that needs data (detectors, .item()) "
        "then exits 3 instead of running once on the cpu with random inputs.",
    ),
    measure: bool = typer.Option(
        False, "--measure", help="Time every conv with an alternative, in both forms, with torch."
    ),
    repeats: int = options.REPEATS,
    warmup: int = options.WARMUP,
    threads: int | None = options.THREADS,
    top: int | None = typer.Option(
        None, "--top", metavar="N",
        help="Only the N costliest layers (blocks with --depth) and their share."),
    sort: str = typer.Option("macs", "--sort", metavar="macs|params|bytes",
                             help="What --top ranks by."),
    trust: bool = typer.Option(False, "--trust-model-file", help=console.TRUST_HELP),
) -> None:
    """Analyse a model: every layer's MACs, params and bytes, and both forms of every conv."""
    # Each reader's input parsing, the table renderer and the hotspot view are imported
    # only when this run needs them: start-up of the YAML path is most of its time.
    from convcost.pipeline.run import Options, run
    from convcost.report import analysis as report

    if depth is not None:
        parse.positive("--depth", depth)
    if batch is not None:
        parse.positive("--batch", batch)
    if resolution is not None:
        parse.positive("--resolution", resolution)
    if export is not None and export.suffix.lower() not in (".svg", ".html", ".htm"):
        raise InputError(f"{str(export)!r} must end in .svg or .html", Context(flag="--export"))
    if export is not None:
        console.refuse_overwrite(export, {"model": split_target(source)[0]}, "--export")
    elem = parse.dtype("--dtype", dtype) if dtype is not None else None
    if top is not None:
        parse.positive("--top", top)
    from convcost.report.top import SortBy

    try:
        sort_by = SortBy(sort.strip().lower())
    except ValueError:
        raise InputError(f"{sort!r} is not allowed; use macs, params or bytes",
                         Context(flag="--sort")) from None
    given: tuple[object, ...] = ()
    given_kwargs: dict[str, object] = {}
    try:
        if inputs and is_onnx(source):
            from convcost.frontends.onnx_load import parse_onnx_input

            given = tuple(spec for text in inputs for spec in parse_onnx_input(text))
        elif inputs:
            from convcost.frontends.torch_inputs import parse_call

            call = parse_call(inputs)
            given, given_kwargs = tuple(call.args), dict(call.kwargs)
    except InputError as e:
        raise e.within(flag="--input") from None
    opts = Options(
        inputs=given,
        input_kwargs=given_kwargs or None,
        execute=not no_execute,
        dtype=elem,
        batch=batch,
        width_mult=width_mult,
        resolution=resolution,
        rewrite_as=parse_as(rewrite),
        reference=() if no_reference else parse_references("--reference", reference),
        kwargs=parse_kwargs(kwargs),
        depth=depth,
        strict=strict,
    )
    message = "Analysing" + (" and counting with " + ", ".join(map(str, opts.reference))
                             if opts.reference else "") + "…"
    if trust or _ARCHIVES in sys.modules:  # else its default, False, holds
        from convcost.frontends.torch_archive import trust_model_files

        trust_model_files(trust)
    with console.status(message), console.user_code():
        result = run(source, opts)
    for note in result.notes:
        console.note(note)
    timing = None
    if measure:
        from convcost.reference import timing as timer

        how = options.measure_settings(repeats, warmup, threads)
        with console.progress("Timing both forms with torch", timer.count_jobs(result.analysis)
                              ) as advance:
            timing = timer.measure_analysis(result.analysis, how, advance)
    timed = timing
    if timed is not None:
        from convcost.report import measure as measured
    output = console.Output(
        data=result.to_dict,
        csv=lambda: report.to_csv_text(result),
        markdown=lambda: _markdown(result),
        table=lambda: _table(result),
        extra_key="measured",
        extra_data=None if timed is None else lambda: measured.model_dict(timed),
        extra_markdown=None if timed is None else lambda: measured.model_markdown(timed),
        extra_table=None if timed is None else lambda: measured.model_table(timed),
    )
    if top is not None:  # a hotspot view instead of every layer
        from convcost.report import top as hot

        n = top
        output = dataclasses.replace(
            output, data=lambda: {**result.to_dict(), "top": hot.to_dict(result, n, sort_by)},
            csv=lambda: hot.to_csv_text(result, n, sort_by),
            markdown=lambda: hot.to_markdown_text(result, n, sort_by),
            table=lambda: hot.to_table(result, n, sort_by))
    console.emit(fmt, output)
    if export is not None:
        from convcost.report.html import page

        console.export(_table(result), export, html=page(result))
        console.note(f"wrote {export}")
