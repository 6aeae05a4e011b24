"""`convcost sweep`: the width-multiplier × resolution grid of a YAML model."""

from __future__ import annotations

import typer

from convcost.cli import console, parse
from convcost.errors import Context, InputError
from convcost.report.formats import Format

EXAMPLE = """[b]Example[/b]

  convcost sweep configs/mobilenet_v1.yaml --width-mult 1,0.75,0.5,0.25 --resolution 224,192,160,128
"""


def _floats(flag: str, text: str) -> list[float]:
    out = []
    for word in (w.strip() for w in text.split(",")):
        try:
            value = float(word)
        except ValueError:
            raise InputError(f"{word!r} is not a number; give a comma-separated list like "
                             "1,0.75,0.5", Context(flag=flag)) from None
        if not value > 0 or value == float("inf"):
            raise InputError(f"must be positive, got {word!r}", Context(flag=flag))
        out.append(value)
    return out


def _ints(flag: str, text: str) -> list[int]:
    out = []
    for word in (w.strip() for w in text.split(",")):
        if not word.isdigit() or int(word) < 1:
            raise InputError(f"{word!r} is not a positive integer; give a list like 224,192",
                             Context(flag=flag))
        out.append(int(word))
    return out


def sweep(
    source: str = typer.Argument(..., metavar="MODEL.yaml", help="A YAML model description."),
    width_mult: str = typer.Option("1", "--width-mult", "-a",
                                   help="Comma-separated width multipliers α."),
    resolution: str | None = typer.Option(
        None, "--resolution", "-r", help="Comma-separated input resolutions."
    ),
    batch: int = typer.Option(1, "--batch", help="Batch size."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f", help="Output format."),
) -> None:
    """MACs and params over a width-multiplier × resolution grid (the paper's Tables 6, 7)."""
    from convcost.pipeline.sweep import check_sweepable, sweep_grid
    from convcost.report import sweep as report

    check_sweepable(source)
    parse.positive("--batch", batch)
    alphas = _floats("--width-mult", width_mult)
    resolutions = _ints("--resolution", resolution) if resolution is not None else None
    total = len(alphas) * (len(resolutions) if resolutions is not None else 1)
    with console.progress("Sweeping", total) as advance:
        grid = sweep_grid(source, alphas, resolutions, batch=batch, on_point=advance)
    name, points = grid.name, list(grid.points)
    console.emit(fmt, console.Output(
        data=lambda: report.to_dict(name, points),
        csv=lambda: report.to_csv_text(points),
        markdown=lambda: report.to_markdown_text(name, points),
        table=lambda: report.to_table(name, points),
    ))
