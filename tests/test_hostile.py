"""Hostile and broken input: every case is one line on stderr, the documented exit code and no
traceback (2 bad input, 3 cannot analyse, 130 interrupted).

The table covers every command, flag family, YAML rule, budget and baseline file and model
source; cases that need a real process (closed pipes, signals, the working directory) are in
test_hostile_process.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcost.cli.app import app
from tests import hostile_inputs as h


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    code: int
    needs: str = ""
    """'torch' when the case needs torch installed."""
    says: str = ""
    """A piece of the one stderr line."""


def c(id: str, *argv: str, code: int = 2, needs: str = "", says: str = "") -> Case:
    return Case(id, argv, code, needs, says)


BAD_INTS = {"zero": "0", "negative": "-1", "superscript": "²", "arabic": "٣", "fullwidth": "８",
            "float": "1.5", "exp": "1e99", "huge": "9" * 25, "word": "abc", "empty": ""}
COMPARE = ("compare", "--no-reference")
COMPARE_OK = ("--kernel", "3", "--in", "8", "--out", "16")


def _compare_cases() -> list[Case]:
    out = []
    for flag in ("--kernel", "--in", "--out", "--stride", "--dilation", "--depth-multiplier",
                 "--batch"):
        for name, value in BAD_INTS.items():
            if name == "zero" and flag in ("--dilation",):
                continue
            args = dict(zip(COMPARE_OK[::2], COMPARE_OK[1::2], strict=True))
            args[flag] = value
            argv = [a for kv in args.items() for a in kv]
            out.append(c(f"compare{flag}={name}", *COMPARE, *argv))
    for name, value in {**BAD_INTS, "x_only": "x", "three_of_two": "2x2x2", "neg": "-4x4",
                        "huge_pair": "4x" + "9" * 12, "long": "4" * 300}.items():
        if name in ("float", "exp") or value == "":
            continue
        out.append(c(f"compare--size={name}", *COMPARE, *COMPARE_OK, "--size", value))
    for name, value in {"superscript": "²", "arabic": "٣", "word": "sideways", "negative": "-1",
                        "huge": "9" * 30}.items():
        out.append(c(f"compare--padding={name}", *COMPARE, *COMPARE_OK, "--padding", value))
    out += [
        c("compare--dims=4", *COMPARE, *COMPARE_OK, "--dims", "4"),
        c("compare--dims=²", *COMPARE, *COMPARE_OK, "--dims", "²"),
        c("compare--dtype=float7", *COMPARE, *COMPARE_OK, "--dtype", "float7"),
        c("compare--format=xml", *COMPARE, *COMPARE_OK, "--format", "xml"),
        c("compare--repeats=0", *COMPARE, *COMPARE_OK, "--measure", "--repeats", "0"),
        c("compare--warmup=-1", *COMPARE, *COMPARE_OK, "--measure", "--warmup", "-1"),
        c("compare-missing-out", *COMPARE, "--in", "8"),
        c("compare-unknown-flag", *COMPARE, *COMPARE_OK, "--bogus"),
    ]
    return out


def _analyze_flag_cases() -> list[Case]:
    y = "{d}/tiny.yaml"
    a = ("analyze", y, "--no-reference")
    out = [
        c("analyze--depth=0", *a, "--depth", "0"),
        c("analyze--depth=-1", *a, "--depth", "-1"),
        c("analyze--depth=²", *a, "--depth", "²"),
        c("analyze--depth=huge", *a, "--depth", "9" * 30),
        c("analyze--width-mult=nan", *a, "--width-mult", "nan"),
        c("analyze--width-mult=inf", *a, "--width-mult", "inf"),
        c("analyze--width-mult=0", *a, "--width-mult", "0"),
        c("analyze--width-mult=-1", *a, "--width-mult", "-1"),
        c("analyze--width-mult=arabic", *a, "--width-mult", "٠.٥"),
        c("analyze--width-mult=1e400", *a, "--width-mult", "1e400"),
        c("analyze--resolution=0", *a, "--resolution", "0"),
        c("analyze--resolution=²", *a, "--resolution", "²"),
        c("analyze--resolution=huge", *a, "--resolution", "99999999999"),
        c("analyze--batch=0", *a, "--batch", "0"),
        c("analyze--batch=arabic", *a, "--batch", "٢"),
        c("analyze--batch=huge", *a, "--batch", "9" * 20),
        c("analyze--as=bogus", *a, "--as", "bogus"),
        c("analyze--reference=bogus", "analyze", y, "--reference", "bogus"),
        c("analyze--dtype=bogus", *a, "--dtype", "bogus"),
        c("analyze--format=bogus", *a, "--format", "bogus"),
        c("analyze--export=txt", *a, "--export", "{d}/out.txt"),
        c("analyze--export=dir", *a, "--export", "{d}/adir.svg"),
        c("analyze-missing-file", "analyze", "{d}/nope.yaml", "--no-reference"),
        c("analyze-directory", "analyze", "{d}", "--no-reference"),
        c("analyze-empty-source", "analyze", "", "--no-reference"),
        c("analyze-no-name", "analyze", "models_without_name", "--no-reference"),
        c("sweep--width-mult=arabic", "sweep", y, "--width-mult", "١"),
        c("sweep--width-mult=nan", "sweep", y, "--width-mult", "nan"),
        c("sweep--resolution=²", "sweep", y, "--resolution", "²"),
        c("sweep--resolution=huge", "sweep", y, "--resolution", "9" * 30),
        c("sweep--batch=0", "sweep", y, "--batch", "0"),
        c("sweep-torch-source", "sweep", "{d}/models.py:Small"),
    ]
    return out


def _input_cases() -> list[Case]:
    m = ("analyze", "{d}/models.py:Small", "--no-reference")
    bad = {"unicode": "1,3,٨,8", "superscript": "1,3,²,8",
           "size_1e20": "1,3,100000000000000000000,8",
           "size_2e31": "1,3,4294967296,8", "elements": "1000000,1000000,1000000,1000000",
           "zero": "1,3,0,8", "negative": "1,-3,8,8", "empty": "", "double_comma": "1,,8",
           "word": "one,3,8,8", "dtype_bad": "1,3,8,8:float7", "dims_17": ",".join(["1"] * 17),
           "float": "1,3,8.5,8", "exp": "1,3,1e3,8"}
    out = [c(f"analyze--input={k}", *m, "--input", v, needs="torch") for k, v in bad.items()]
    out.append(c("analyze--kwargs=not-json", *m, "--input", "1,3,8,8", "--kwargs", "{nope",
                 needs="torch"))
    out.append(c("analyze--kwargs=list", *m, "--input", "1,3,8,8", "--kwargs", "[1]",
                 needs="torch"))
    out.append(c("analyze--kwargs=digits", *m, "--input", "1,3,8,8", "--kwargs",
                 '{"a": ' + "9" * 5000 + "}", needs="torch"))
    out.append(c("analyze--kwargs=deep", *m, "--input", "1,3,8,8", "--kwargs",
                 "[" * 100000 + "]" * 100000, needs="torch"))
    return out


def _source_cases() -> list[Case]:
    def a(source: str, *more: str) -> tuple[str, ...]:
        return ("analyze", source, "--input", "1,3,8,8", "--no-reference", *more)

    t = "torch"
    out = [
        c("model-sys-exit-forward", *a("{d}/models.py:ExitInForward"), code=3, needs=t,
          says="sys.exit(7)"),
        c("model-sys-exit-0-forward", *a("{d}/models.py:ExitZeroInForward"), code=3, needs=t),
        c("model-systemexit-init", *a("{d}/models.py:ExitInInit"), code=3, needs=t,
          says="SystemExit: msg"),
        c("model-generatorexit", *a("{d}/models.py:GeneratorExitInForward"), code=3, needs=t,
          says="GeneratorExit"),
        c("model-keyboardinterrupt-forward", *a("{d}/models.py:InterruptInForward"), code=3,
          needs=t, says="KeyboardInterrupt"),
        c("model-keyboardinterrupt-init", *a("{d}/models.py:InterruptInInit"), code=3, needs=t,
          says="KeyboardInterrupt"),
        c("model-baseexception", *a("{d}/models.py:BaseExceptionInForward"), code=3, needs=t,
          says="Custom"),
        c("model-recursion", *a("{d}/models.py:RecursionInForward"), code=3, needs=t),
        c("model-valueerror-escape", *a("{d}/models.py:ValueErrorInForward"), code=3, needs=t),
        c("model-returns-int", *a("{d}/models.py:returns_int"), needs=t),
        c("model-not-callable", *a("{d}/models.py:not_callable"), needs=t),
        c("model-missing-name", *a("{d}/models.py:Nope"), needs=t),
        c("model-bad-name", *a("{d}/models.py:1bad"), needs=t),
        c("model-empty-name", *a("{d}/models.py:"), needs=t),
        c("model-missing-file", *a("{d}/nope.py:Net"), needs=t),
        c("model-missing-module", *a("no_such_module_xyz:Net"), needs=t),
        c("model-import-exits", *a("{d}/import_exits.py:Net"), code=3, needs=t,
          says="SystemExit"),
        c("model-import-interrupts", *a("{d}/import_interrupts.py:Net"), code=3, needs=t,
          says="KeyboardInterrupt"),
        c("model-import-baseexception", *a("{d}/import_base.py:Net"), code=3, needs=t),
        c("model-import-syntax", *a("{d}/import_syntax.py:Net"), code=3, needs=t),
        c("model-kwargs-unknown", *a("{d}/models.py:Small", "--kwargs", '{"nope": 1}'),
          code=3, needs=t),
        c("archive-pt2-garbage", *a("{d}/garbage.pt2"), needs=t),
        c("archive-pt2-truncated", *a("{d}/truncated.pt2"), needs=t),
        c("archive-pt2-empty", *a("{d}/empty.pt2"), needs=t),
        c("archive-pt2-empty-zip", *a("{d}/emptyzip.pt2"), needs=t),
        c("archive-pt2-pickle", *a("{d}/evil.pt2"), needs=t, says="--trust-model-file"),
        c("archive-pt-garbage", *a("{d}/garbage.pt"), needs=t),
        c("archive-pt-pickle", *a("{d}/pickled.pt"), needs=t),
        c("archive-ts-truncated", *a("{d}/truncated.ts"), needs=t),
        c("archive-ts-empty", *a("{d}/empty.ts"), needs=t),
        c("archive-directory", *a("{d}/adir.pt2"), needs=t),
        c("archive-kwargs", *a("{d}/garbage.pt2", "--kwargs", "{}"), needs=t),
        c("check-archive-pickle", "check", "{d}/evil.pt2", "--input", "1,3,8,8", "--max",
          "macs=1M", needs=t, says="--trust-model-file"),
    ]
    return out


def _yaml_cases() -> list[Case]:
    return [c(f"yaml-{name}", "analyze", f"{{d}}/bad_{name}.yaml", "--no-reference")
            for name in h.BAD_YAML]


def _budget_cases() -> list[Case]:
    out = [c(f"budget-{name}", "check", f"{{d}}/budget_{name}.yaml") for name in h.BAD_BUDGETS]
    out += [c(f"budget-file-{name}", "check", f"{{d}}/budgetfile_{name}.yaml")
            for name in h.BAD_BUDGET_FILES]
    inline = {"exp_huge": "macs=1e99999999", "exp_99999": "macs=1e99999", "exp_400": "macs=1e400",
              "digits_5000": "macs=" + "9" * 5000, "unicode": "macs=٣M", "superscript": "macs=²",
              "fullwidth": "macs=１M", "no_value": "macs=", "no_metric": "=5", "no_equals": "macs",
              "metric_unknown": "parsecs=1", "percent": "macs=1%", "twice": "macs=1M"}
    for name, value in inline.items():
        extra = ("--max", "macs=2M") if name == "twice" else ()
        out.append(c(f"check--max={name}", "check", "{d}/tiny.yaml", "--max", value, *extra))
    for name, value in {"unicode": "macs=٣%", "huge": "macs=1e300%", "digits": "macs=+" + "9" * 80,
                        "word": "macs=lots"}.items():
        out.append(c(f"check--max-increase={name}", "check", "{d}/tiny.yaml", "--max-increase",
                     value))
    out += [
        c("check-budget-with--max", "check", "{d}/budget_ok.yaml", "--max", "macs=1M"),
        c("check-nothing", "check", "{d}/tiny.yaml"),
        c("check-fail-on-bogus", "check", "{d}/budget_ok.yaml", "--fail-on", "bogus"),
        c("check-format-bogus", "check", "{d}/budget_ok.yaml", "--format", "bogus"),
        c("check-update-baseline-over-budget", "check", "{d}/budget_ok.yaml",
          "--update-baseline", "--baseline", "{d}/budget_ok.yaml"),
        c("check-update-baseline-over-model", "check", "{d}/budget_ok.yaml",
          "--update-baseline", "--baseline", "{d}/tiny.yaml"),
        c("check-junit-over-budget", "check", "{d}/budget_ok.yaml", "--junit",
          "{d}/budget_ok.yaml"),
        c("check-markdown-over-model", "check", "{d}/budget_ok.yaml", "--markdown",
          "{d}/tiny.yaml"),
        c("check-junit-over-baseline", "check", "{d}/budget_ok.yaml", "--baseline",
          "{d}/base_ok.json", "--junit", "{d}/base_ok.json"),
        c("check-junit-into-directory", "check", "{d}/budget_ok.yaml", "--junit", "{d}/adir.svg"),
        c("check-missing-budget", "check", "{d}/nope.yaml"),
        c("check-update-without-baseline", "check", "{d}/tiny.yaml", "--max", "macs=1G",
          "--update-baseline"),
    ]
    for name in h.BAD_BASELINES:
        out.append(c(f"baseline-{name}", "check", "{d}/budget_increase.yaml", "--baseline",
                     f"{{d}}/baseline_{name}.json"))
    return out


CASES = [*_compare_cases(), *_analyze_flag_cases(), *_input_cases(), *_source_cases(),
         *_yaml_cases(), *_budget_cases()]


def test_the_table_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 150
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    h.write(d / "tiny.yaml", h.TINY_YAML)
    h.write(d / "models.py", h.MODELS_PY)
    h.write(d / "import_exits.py", h.IMPORT_EXITS)
    h.write(d / "import_interrupts.py", h.IMPORT_INTERRUPTS)
    h.write(d / "import_base.py", h.IMPORT_BASE)
    h.write(d / "import_syntax.py", h.IMPORT_SYNTAX)
    (d / "adir.svg").mkdir()
    (d / "adir.pt2").mkdir()
    for name, text in h.BAD_YAML.items():
        h.write(d / f"bad_{name}.yaml", text)
    for name, limits in h.BAD_BUDGETS.items():
        h.write(d / f"budget_{name}.yaml", h.budget("tiny.yaml", limits))
    for name, text in h.BAD_BUDGET_FILES.items():
        h.write(d / f"budgetfile_{name}.yaml", text)
    h.write(d / "budget_ok.yaml", h.budget("tiny.yaml", "max: {params: 1M}"))
    h.write(d / "budget_increase.yaml", h.budget("tiny.yaml", "max_increase: {params: 1%}"))
    h.write(d / "base_ok.json", h.baseline_doc({"params": 1}))
    for name, text in h.BAD_BASELINES.items():
        h.write(d / f"baseline_{name}.json", text)
    (d / "garbage.pt2").write_bytes(b"not a zip archive at all" * 10)
    (d / "garbage.pt").write_bytes(b"\x80\x04garbage")
    (d / "empty.pt2").write_bytes(b"")
    (d / "empty.ts").write_bytes(b"")
    import zipfile

    with zipfile.ZipFile(d / "emptyzip.pt2", "w"):
        pass
    return d


@pytest.fixture(scope="module")
def archives(files: Path) -> Path:
    """Torch archives: a truncated .pt2 and .ts, a torch.save pickle, a pickle-bearing .pt2."""
    pytest.importorskip("torch")
    from tests.hostile_archives import write_archives

    write_archives(files, files / "MARKER_pickle")
    return files


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, argv, env={"NO_COLOR": "1", "COLUMNS": "120", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, out: str, err: str, expected: int) -> None:
    assert code == expected, f"exit {code}, expected {expected}; stderr: {err!r}"
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"stderr is not one line: {err!r}"
    assert lines[0].startswith("convcost: error: "), lines[0]
    assert "internal error" not in lines[0], lines[0]
    assert not any(ch in lines[0] for ch in "\x1b\x07\x00"), repr(lines[0])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_case(case: Case, files: Path, request: pytest.FixtureRequest) -> None:
    if case.needs == "torch":
        request.getfixturevalue("archives")
    argv = [a.replace("{d}", str(files)) for a in case.argv]
    code, out, err = run(argv)
    one_line_error(code, out, err, case.code)
    if case.says:
        assert case.says in err, err
    assert not (files / "MARKER_pickle").exists(), "the pickle's payload ran"
