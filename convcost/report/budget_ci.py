"""`convcost check` for CI: JUnit XML, GitHub workflow commands, and the reports written when
the check cannot run at all (exit 2 or 3). Renderers return text; they never print."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from convcost.budget.check import Kind, Outcome, Status
from convcost.budget.policy import FailOn
from convcost.budget.spec import Where
from convcost.core.convention import CONVENTION
from convcost.report.budget import cells

# ---------------------------------------------------------------- JUnit


def to_junit(outcome: Outcome, fail_on: FailOn) -> str:
    """One testcase per check and metric; a metric that fails the run is a <failure>."""
    metrics = outcome.metric_results
    failures = sum(outcome.failed(fail_on, m) for m in metrics)
    name = outcome.budget.file or "convcost check"
    suites = ET.Element("testsuites", name="convcost check", tests=str(len(metrics)),
                        failures=str(failures), errors="0")
    suite = ET.SubElement(suites, "testsuite", name=name, tests=str(len(metrics)),
                          failures=str(failures), errors="0", skipped="0")
    for m in metrics:
        case = ET.SubElement(suite, "testcase", classname=m.check.name, name=str(m.metric))
        where = m.limit_where
        if where is not None and where.file is not None:
            case.set("file", where.file)
            if where.line is not None:
                case.set("line", str(where.line))
        x = cells(m)
        detail = (f"value {m.value:,}; limit {x.limit}; baseline {x.baseline}; "
                  f"Δ {x.delta} ({x.delta_pct}); headroom {x.headroom}; status {m.status}")
        if outcome.failed(fail_on, m):
            messages = [v.message for v in m.violations]
            failure = ET.SubElement(case, "failure", message=messages[0],
                                    type=str(m.violations[0].kind))
            failure.text = "\n".join([*messages, detail])
        else:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join([*(v.message for v in m.violations), detail])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        suites, encoding="unicode") + "\n"


# ---------------------------------------------------------------- GitHub workflow commands


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, message: str, where: Where | None) -> str:
    props = []
    if where is not None and where.file is not None:
        props.append(f"file={_escape_prop(where.file)}")
        if where.line is not None:
            props.append(f"line={where.line}")
        if where.col is not None:
            props.append(f"col={where.col}")
    props.append("title=convcost check")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def model_file(source: str) -> str | None:
    """The local file a model comes from (``models/net.py`` of ``models/net.py:Net``), relative
    to the working directory when it lies below it; None for an importable module."""
    import os
    from pathlib import Path

    path, sep, _ = source.rpartition(":")
    if not sep or len(path) == 1:  # no colon, or a Windows drive
        path = source
    candidate = Path(path)
    if not candidate.is_file():
        return None
    try:
        return str(candidate.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return os.path.normpath(str(candidate))


def github_annotations(outcome: Outcome) -> list[str]:
    """``::error file=...::message`` per violation; hints are notices.

    A regression or an exceeded maximum of a model that is a local file is annotated on that
    file (the change that caused it); the message names the budget line to edit. Otherwise the
    annotation points at the budget line."""
    checks = {r.check.name: r.check for r in outcome.results}
    lines = []
    for v in outcome.violations:
        where = v.where
        check = checks.get(v.check)
        if check is not None and v.kind is not Kind.BASELINE:
            local = model_file(check.source)
            if local is not None:
                where = Where(file=local)
        lines.append(_command("error" if v.status is Status.FAIL else "warning", v.message,
                              where))
    lines += [_command("notice", h.message, h.where) for h in outcome.hints]
    return lines


# ---------------------------------------------------------------- when the check cannot run


def error_markdown(message: str, exit_code: int) -> str:
    """The Markdown report of a check that could not run (bad input, or a model that could
    not be analysed)."""
    what = "bad input" if exit_code == 2 else "a model could not be analysed"
    return (f"### ✗ convcost check could not run ({what}, exit {exit_code})\n\n"
            f"```\n{message}\n```\n\n<sub>{CONVENTION.footer()}</sub>\n")


def error_junit(message: str, exit_code: int, file: str | None = None,
                line: int | None = None) -> str:
    """A JUnit report with one errored testcase saying what went wrong."""
    suites = ET.Element("testsuites", name="convcost check", tests="1", failures="0",
                        errors="1")
    suite = ET.SubElement(suites, "testsuite", name=file or "convcost check", tests="1",
                          failures="0", errors="1", skipped="0")
    case = ET.SubElement(suite, "testcase", classname="convcost check", name="run")
    if file is not None:
        case.set("file", file)
        if line is not None:
            case.set("line", str(line))
    error = ET.SubElement(case, "error", message=message,
                          type="bad input" if exit_code == 2 else "analysis failed")
    error.text = f"{message}\n(exit {exit_code})"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        suites, encoding="unicode") + "\n"


def error_annotation(message: str, file: str | None = None, line: int | None = None,
                     col: int | None = None) -> str:
    return _command("error", message, Where(file=file, line=line, col=col))
