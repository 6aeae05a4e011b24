"""`convcost compare`: one standard convolution against its depthwise-separable form."""

from __future__ import annotations

import typer

from convcost.cli import console, options, parse
from convcost.core.ops import Conv
from convcost.core.rewrite import compare as compare_conv
from convcost.errors import AnalysisError, Context, ConvcostError, InputError, ReferenceSkipped
from convcost.report.formats import Format

EXAMPLE = """[b]Examples[/b]

  convcost compare --kernel 3 --in 512 --out 512 --size 14    [dim]# the paper's Table 3[/dim]

  convcost compare -k 3 --in 32 --out 64 --size 112 --stride 2 --format json
"""


def compare(
    kernel: int = typer.Option(3, "--kernel", "-k", help="Kernel size D_K."),
    in_channels: int = typer.Option(..., "--in", help="Input channels M."),
    out_channels: int = typer.Option(..., "--out", help="Output channels N."),
    size: str | None = typer.Option(
        None, "--size", "-s", metavar="H|HxW",
        help="Input spatial size. Without it, costs are per output position.",
    ),
    stride: int = typer.Option(1, "--stride", help="Stride of the conv and the depthwise half."),
    padding: str = typer.Option("same", "--padding", help="An integer, 'same' or 'valid'."),
    dilation: int = typer.Option(1, "--dilation", help="Dilation of the kernel."),
    bias: bool = typer.Option(False, "--bias/--no-bias", help="Give every conv a bias."),
    depth_multiplier: int = typer.Option(
        1, "--depth-multiplier", help="Depthwise outputs per input channel."
    ),
    batch: int = typer.Option(1, "--batch", help="Batch size."),
    dims: int = typer.Option(2, "--dims", help="Spatial dimensions: 1, 2 or 3."),
    dtype: str = typer.Option("float32", "--dtype", help="Element type for memory traffic."),
    fmt: Format = typer.Option(Format.TABLE, "--format", "-f", help="Output format."),
    reference: bool = typer.Option(
        True, "--reference/--no-reference", help="Count the real torch layers with fvcore too."
    ),
    measure: bool = typer.Option(
        False, "--measure", help="Also time both forms for real with torch on this machine."
    ),
    repeats: int = options.REPEATS,
    warmup: int = options.WARMUP,
    threads: int | None = options.THREADS,
) -> None:
    """Compare a standard convolution with its depthwise-separable form (dw + pw)."""
    from convcost.report import compare as report

    parse.choice("--dims", dims, (1, 2, 3))
    for flag, value in (("--kernel", kernel), ("--in", in_channels), ("--out", out_channels),
                        ("--stride", stride), ("--dilation", dilation),
                        ("--depth-multiplier", depth_multiplier), ("--batch", batch)):
        parse.positive(flag, value)
    pad = parse.padding("--padding", padding)
    elem = parse.dtype("--dtype", dtype)
    try:
        op = Conv.make(in_channels, out_channels, kernel, dims=dims, stride=stride,
                       padding=pad, dilation=dilation, bias=bias)
    except InputError as e:
        raise e.within(flag="--padding" if "padding" in e.message else "--kernel") from None
    if size is None:
        # the smallest input that gives one output per dimension
        spatial = tuple(max(1, dl * (k - 1) + 1 - lo - hi)
                        for k, dl, (lo, hi) in zip(op.kernel, op.dilation, op.padding,
                                                   strict=True))
    else:
        spatial = parse.size("--size", size, dims)
    shape = (batch, in_channels, *spatial)
    try:
        comparison = compare_conv(op, shape, depth_multiplier=depth_multiplier, dtype=elem)
    except ConvcostError as e:
        raise e.within(flag="--kernel/--size") from None

    result = report.CompareReport(comparison, per_position=size is None)
    if reference:
        from convcost.reference.layers import compare_reference

        try:
            with console.status("Counting the real layers with fvcore…"):
                agreement = compare_reference(comparison)
            result = report.CompareReport(comparison, size is None, agreement)
        except ReferenceSkipped as e:
            console.note(e.message)
        except AnalysisError as e:
            raise AnalysisError(e.message, Context(flag="--reference")) from e
    timing = None
    if measure:
        from convcost.reference import timing as timer

        how = options.measure_settings(repeats, warmup, threads)
        with console.progress("Timing the layers with torch", 4) as advance:
            timing = timer.measure_comparison(comparison, how, advance)

    from convcost.report import measure as measured

    timed = timing
    console.emit(fmt, console.Output(
        data=lambda: report.to_dict(result),
        csv=lambda: report.to_csv_text(result),
        markdown=lambda: report.to_markdown_text(result),
        table=lambda: report.to_table(result),
        extra_key="measured",
        extra_data=None if timed is None else lambda: measured.compare_dict(timed),
        extra_markdown=None if timed is None else
        lambda: measured.compare_markdown(comparison, timed),
        extra_table=None if timed is None else lambda: measured.compare_table(comparison, timed),
    ))
