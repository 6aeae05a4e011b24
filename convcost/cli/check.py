"""`convcost check`: hold models to cost budgets in CI (exit 1 when a budget is exceeded)."""

from __future__ import annotations

import contextlib
import os
import shlex
from pathlib import Path

import typer

from convcost._compat import StrEnum
from convcost.budget.policy import CheckFormat, FailOn, Policy
from convcost.cli import console
from convcost.errors import Context, ConvcostError, InputError

EXAMPLE = """[b]Examples[/b]

  convcost check budgets.yaml

  convcost check budgets.yaml --format markdown >> "$GITHUB_STEP_SUMMARY"

  convcost check budgets.yaml --update-baseline

  convcost check configs/mobilenet_v1.yaml --max macs=600M --max params=4.5M

  convcost check torchvision.models:resnet18 --input 1,3,224,224 --max macs=2G

Exit codes: 0 every error-level check passes; 1 a budget is exceeded; 2 a bad budget file or
usage; 3 a model could not be analysed.
"""


class Annotations(StrEnum):
    AUTO = "auto"
    GITHUB = "github"
    NONE = "none"


def _write(path: Path, text: str, flag: str) -> None:
    console.write_file(path, text, flag)


def check(
    target: str = typer.Argument(
        ..., metavar="BUDGETS|MODEL",
        help="A budget file (YAML with top-level 'checks'), or a model source checked against "
        "--max flags.",
    ),
    maxima: list[str] = typer.Option(
        [], "--max", metavar="METRIC=VALUE",
        help="Inline limit for a model source, e.g. macs=600M (repeat). Metrics: macs, flops, "
        "params, weights, other_ops, bytes.",
    ),
    increases: list[str] = typer.Option(
        [], "--max-increase", metavar="METRIC=VALUE",
        help="Inline allowed increase over the baseline, e.g. macs=1% or params=+50k.",
    ),
    inputs: list[str] = typer.Option(
        [], "--input", "-i", metavar="SHAPE[:DTYPE]",
        help="Input shape for a torch model source, e.g. 1,3,224,224.",
    ),
    kwargs: str | None = typer.Option(None, "--kwargs", help="JSON arguments for the factory."),
    scope: str | None = typer.Option(None, "--scope", metavar="GLOB",
                                     help="Inline: sum only layers or modules matching GLOB."),
    baseline: Path | None = typer.Option(
        None, "--baseline", metavar="FILE",
        help="Baseline for max_increase (default: the budget file's 'baseline:').",
    ),
    update_baseline: bool = typer.Option(
        False, "--update-baseline", help="Write the current counts as the new baseline."),
    fail_on: FailOn = typer.Option(
        FailOn.ERROR, "--fail-on", help="Exit 1 on error-level failures, on warnings too, "
        "or never."),
    missing_baseline: Policy = typer.Option(
        Policy.WARN, "--missing-baseline",
        help="What a missing or incompatible baseline does to a max_increase check."),
    fmt: CheckFormat = typer.Option(CheckFormat.TABLE, "--format", "-f",
                                    help="Output format on stdout."),
    junit: Path | None = typer.Option(None, "--junit", metavar="FILE",
                                      help="Also write a JUnit XML report."),
    markdown: Path | None = typer.Option(
        None, "--markdown", metavar="FILE",
        help="Also write the Markdown report (a PR comment or $GITHUB_STEP_SUMMARY)."),
    annotations: Annotations = typer.Option(
        Annotations.AUTO, "--annotations",
        help="GitHub workflow commands on stderr (auto: when GITHUB_ACTIONS=true)."),
    trust: bool = typer.Option(False, "--trust-model-file", help=console.TRUST_HELP),
) -> None:
    """Check models against cost budgets: absolute limits and increases over a baseline."""
    github = annotations is Annotations.GITHUB or (
        annotations is Annotations.AUTO and os.environ.get("GITHUB_ACTIONS") == "true")
    from convcost.frontends.torch_archive import trust_model_files

    trust_model_files(trust)
    for flag, path in (("--junit", junit), ("--markdown", markdown)):
        if path is not None:  # before anything can fail: the error report goes there too
            console.refuse_overwrite(path, {"input": target.rpartition(":")[0] or target}, flag)
    try:
        code = _check(target, maxima, increases, inputs, kwargs, scope, baseline,
                      update_baseline, fail_on, missing_baseline, fmt, junit, markdown, github)
    except ConvcostError as e:
        _error_reports(e, junit, markdown, github)
        raise
    if code:
        raise typer.Exit(code)


def _error_reports(e: ConvcostError, junit: Path | None, markdown: Path | None,
                   github: bool) -> None:
    """A check that cannot run still leaves a report saying why (exit 2 or 3)."""
    from convcost.report import budget_ci as report

    message = str(e)
    ctx = e.context
    for path, text in ((markdown, report.error_markdown(message, e.exit_code)),
                       (junit, report.error_junit(message, e.exit_code, ctx.file, ctx.line))):
        if path is not None:
            with contextlib.suppress(ConvcostError):
                _write(path, text, "--markdown" if path is markdown else "--junit")
    if github:
        console.print_diagnostic(report.error_annotation(" ".join(message.split()), ctx.file,
                                                         ctx.line, ctx.col))


def update_command(target: str, maxima: list[str], increases: list[str], inputs: list[str],
                   kwargs: str | None, scope: str | None, baseline: Path | None) -> str:
    """The command that rewrites this run's baseline, exactly as it can be pasted."""
    args = ["convcost", "check", target]
    for flag, values in (("--max", maxima), ("--max-increase", increases),
                         ("--input", inputs)):
        for value in values:
            args += [flag, value]
    optional: list[tuple[str, str | None]] = [
        ("--kwargs", kwargs), ("--scope", scope),
        ("--baseline", None if baseline is None else str(baseline))]
    for flag, given in optional:
        if given is not None:
            args += [flag, given]
    return shlex.join([*args, "--update-baseline"])


def _check(target: str, maxima: list[str], increases: list[str], inputs: list[str],
           kwargs: str | None, scope: str | None, baseline: Path | None,
           update_baseline: bool, fail_on: FailOn, missing_baseline: Policy,
           fmt: CheckFormat, junit: Path | None, markdown: Path | None, github: bool) -> int:
    from convcost import __version__
    from convcost.budget.baseline import Baseline, baseline_text, load_baseline, parse_baseline
    from convcost.budget.check import evaluate
    from convcost.budget.measure import measure
    from convcost.budget.spec import inline_budget, is_budget_file, load_budget
    from convcost.cli.analyze import parse_kwargs
    from convcost.core.convention import CONVENTION
    from convcost.frontends.onnx_load import is_onnx, parse_onnx_input
    from convcost.frontends.torch_source import InputSpec, parse_input_spec
    from convcost.pipeline.run import analyze_check
    from convcost.report import budget as report
    from convcost.report import budget_ci as ci

    if is_budget_file(target):
        for flag, given in (("--max", maxima), ("--max-increase", increases),
                            ("--input", inputs), ("--kwargs", kwargs), ("--scope", scope)):
            if given:
                raise InputError(f"applies to a model source, but {target} is a budget file; "
                                 "put the limit in the file", Context(flag=flag))
        budget = load_budget(target, baseline_given=baseline is not None)
    else:
        specs: list[InputSpec] = []
        for text in inputs:
            try:
                specs += parse_onnx_input(text) if is_onnx(target) else parse_input_spec(text)
            except InputError as e:
                raise e.within(flag="--input") from None
        budget = inline_budget(target, maxima, increases, inputs=tuple(specs),
                               kwargs=parse_kwargs(kwargs), scope=scope)

    with console.status("Analysing…"), console.user_code():
        measured = measure(budget, analyze_check)

    convention = CONVENTION.to_dict()
    baseline_path = str(baseline) if baseline is not None else budget.baseline
    from convcost.cli.safety import refuse_overwrite

    sources = {"budget file" if budget.file else "model": target,
               **{f"model of check {c.name!r}": c.source.rpartition(":")[0] or c.source
                  for c in budget.checks}}
    if update_baseline and baseline_path is not None:
        refuse_overwrite(baseline_path, sources, "--baseline")
    for flag, path in (("--junit", junit), ("--markdown", markdown)):
        if path is not None:
            refuse_overwrite(path, {**sources, "baseline": baseline_path}, flag)
    current: Baseline | None
    if update_baseline:
        if baseline_path is None:
            raise InputError("no baseline file: give --baseline FILE or set 'baseline:' in the "
                             "budget file", Context(flag="--update-baseline"))
        text = baseline_text(budget, measured, version=__version__, convention=convention)
        _write(Path(baseline_path), text, "--update-baseline")
        current = parse_baseline(text, baseline_path)
    else:
        current = load_baseline(baseline_path) if baseline_path is not None else None

    outcome = evaluate(budget, measured, current, baseline_path=baseline_path,
                       version=__version__, convention=convention, policy=missing_baseline,
                       baseline_written=update_baseline,
                       update_command=update_command(target, maxima, increases, inputs, kwargs,
                                                     scope, baseline))
    code = outcome.exit_code(fail_on)

    if fmt is CheckFormat.JSON:
        console.print_data(report.to_json_text(outcome, fail_on, code, __version__))
    elif fmt is CheckFormat.MARKDOWN:
        console.print_data(report.to_markdown_text(outcome, code))
    else:
        console.print_table(report.to_table(outcome))
        stdout = console.out()
        for line in report.message_lines(outcome, code):
            stdout.print(line, soft_wrap=True)  # one unwrapped line each: grep-able in CI logs
    if fmt is not CheckFormat.TABLE:
        for v in outcome.violations:
            console.note(v.message)
        console.note(report.summary(outcome, code))
    if junit is not None:
        _write(junit, ci.to_junit(outcome, fail_on), "--junit")
    if markdown is not None:
        _write(markdown, report.to_markdown_text(outcome, code), "--markdown")
    if github:
        for command in ci.github_annotations(outcome):
            console.print_diagnostic(command)
    return code
