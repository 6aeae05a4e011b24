"""Files for the hostile-input tests: models, YAML documents, budget files and baselines that a
careless user or an attacker would give convcost."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

TINY_YAML = """\
name: tiny
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, stride: 2, norm: batch, activation: relu}
  - separable: {out: 16}
  - global_pool
  - flatten
  - linear: {out: 10}
"""

MODELS_PY = '''\
import sys

import torch
from torch import nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)


class Printer(Small):
    def __init__(self):
        super().__init__()
        print("hello from __init__")

    def forward(self, x):
        print("hello from forward")
        sys.stdout.write("raw write\\n")
        return self.conv(x)


class ExitInForward(Small):
    def forward(self, x):
        sys.exit(7)


class ExitInInit(nn.Module):
    def __init__(self):
        raise SystemExit("msg")


class ExitZeroInForward(Small):
    def forward(self, x):
        raise SystemExit(0)


class GeneratorExitInForward(Small):
    def forward(self, x):
        raise GeneratorExit("closing")


class InterruptInForward(Small):
    def forward(self, x):
        raise KeyboardInterrupt


class InterruptInInit(nn.Module):
    def __init__(self):
        raise KeyboardInterrupt


class Custom(BaseException):
    pass


class BaseExceptionInForward(Small):
    def forward(self, x):
        raise Custom("odd")


class RecursionInForward(Small):
    def forward(self, x):
        return self.forward(x)


class ValueErrorInForward(Small):
    def forward(self, x):
        raise ValueError("bad\\x1b[31m value")


class Escapes(nn.Module):
    def __init__(self):
        super().__init__()
        self.add_module("evil\\x1b[2J\\x07name", nn.Conv2d(3, 4, 3))

    def forward(self, x):
        return getattr(self, "evil\\x1b[2J\\x07name")(x)


def returns_int():
    return 3


not_callable = 5
'''

IMPORT_EXITS = "import sys\nsys.exit(5)\n"
IMPORT_INTERRUPTS = "raise KeyboardInterrupt\n"
IMPORT_BASE = "class E(BaseException):\n    pass\nraise E('import')\n"
IMPORT_SYNTAX = "def (:\n"

# name -> YAML model text; each must be refused with exit 2
BAD_YAML: dict[str, str] = {
    "unicode_digit_out": TINY_YAML.replace("out: 8,", "out: '٣',"),
    "superscript_out": TINY_YAML.replace("out: 8,", "out: '²',"),
    "fullwidth_out": TINY_YAML.replace("out: 8,", "out: '８',"),
    "unicode_digit_input": TINY_YAML.replace("[3, 16, 16]", "[3, '١٦', 16]"),
    "exp_huge": TINY_YAML.replace("out: 8,", "out: 1e99999999,"),
    "exp_400": TINY_YAML.replace("out: 8,", "out: 1e400,"),
    "float_inf": TINY_YAML.replace("out: 8,", "out: .inf,"),
    "float_nan": TINY_YAML.replace("out: 8,", "out: .nan,"),
    "float_overflow": TINY_YAML.replace("out: 8,", "out: 1.0e+400,"),
    "long_int": TINY_YAML.replace("out: 8,", f"out: {'9' * 5000},"),
    "long_int_expr": TINY_YAML.replace("out: 8,", f"out: '{'9' * 400} + 1',"),
    "sexagesimal_huge": TINY_YAML.replace("out: 8,", "out: 1" + ":59" * 3000 + ","),
    "input_beyond_limit": TINY_YAML.replace("[3, 16, 16]", "[3, 100000000000, 16]"),
    "negative_out": TINY_YAML.replace("out: 8,", "out: -8,"),
    "zero_kernel": TINY_YAML.replace("kernel: 3", "kernel: 0"),
    "float_out": TINY_YAML.replace("out: 8,", "out: 8.5,"),
    "python_tag": TINY_YAML.replace("out: 8,", "out: !!python/object/apply:os.system ['x'],"),
    "binary_tag": TINY_YAML.replace("out: 8,", "out: !!binary aGVsbG8=,"),
    "unknown_tag": TINY_YAML.replace("out: 8,", "out: !custom 8,"),
    "escape_in_name": TINY_YAML.replace("name: tiny", 'name: "evil\\e[2J"').replace(
        "out: 8,", "out: x,"),
    "nul_in_value": TINY_YAML.replace("out: 8,", 'out: "8\\0",'),
    "control_char_raw": TINY_YAML.replace("tiny", "ti\x07ny"),
    "bidi_override": TINY_YAML.replace("out: 8,", "out: '8\u202e',"),
    "deep_variables": "name: deep\ninput: [3, 8, 8]\nvariables:\n" + "".join(
        f"  v{i}: v{i + 1}\n" for i in range(400)) + "  v400: 4\nlayers:\n  - conv: {out: v0}\n",
    "circular_variables": "name: c\ninput: [3, 8, 8]\nvariables: {a: b, b: a}\n"
                          "layers:\n  - conv: {out: a}\n",
    "deep_parentheses": TINY_YAML.replace("out: 8,", "out: '" + "(" * 300 + "1" + ")" * 300
                                          + "',"),
    "deep_unary": TINY_YAML.replace("out: 8,", "out: '" + "-" * 500 + "1',"),
    "huge_product": TINY_YAML.replace("out: 8,", "out: '99999 * 99999 * 99999 * 99999',"),
    "division_by_zero": TINY_YAML.replace("out: 8,", "out: '8 / 0',"),
    "alias_bomb": "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                  "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\ninput: [3, 8, 8]\nlayers: *e\n",
    "deep_nesting": "name: n\ninput: [3, 8, 8]\nlayers: " + "[" * 2000 + "]" * 2000 + "\n",
    "not_a_mapping": "- 1\n- 2\n",
    "empty": "",
    "syntax_error": "name: [unclosed\n",
    "duplicate_key": TINY_YAML + "name: again\n",
    "repeat_huge": TINY_YAML.replace("out: 16}", "out: 16, repeat: 99999999999}"),
    "repeat_unicode": TINY_YAML.replace("out: 16}", "out: 16, repeat: '٣'}"),
    "dtype_unknown": TINY_YAML + "dtype: float7\n",
    "width_divisor_zero": TINY_YAML + "width_divisor: 0\n",
    "dropout_unicode": TINY_YAML.replace("  - flatten\n", "  - flatten\n  - dropout: '٠.٥'\n"),
}


def budget(model: str, limits: str, extra: str = "") -> str:
    return textwrap.dedent(f"""\
        version: 1
        {extra}
        checks:
          - name: tiny
            model: {model}
            {limits}
        """)


# name -> (budget text with {model} for the tiny YAML model, expected exit code)
BAD_BUDGETS: dict[str, str] = {
    "exp_huge": "max: {params: 1e99999999}",
    "exp_400": "max: {params: 1e400}",
    "exp_negative_huge": "max: {params: 1e-99999999}",
    "float_overflow": "max: {params: 1.0e+400}",
    "float_inf": "max: {params: .inf}",
    "digits_5000": "max: {params: " + "9" * 5000 + "}",
    "digits_5000_text": "max: {params: '" + "9" * 5000 + "M'}",
    "beyond_1e18": "max: {params: 2000000000000000000}",
    "beyond_1e18_units": "max: {params: 2000000T}",
    "unicode_digit": "max: {params: '٣M'}",
    "superscript": "max: {params: '²M'}",
    "fullwidth": "max: {params: '１M'}",
    "unicode_percent": "max_increase: {params: '٣%'}",
    "percent_huge": "max_increase: {params: '1e30%'}",
    "percent_in_max": "max: {params: 1%}",
    "negative": "max: {params: -5}",
    "signed_in_max": "max: {params: +5M}",
    "unit_unknown": "max: {params: 12 parsecs}",
    "unit_milli": "max: {params: 600m}",
    "fraction_count": "max: {params: 0.5}",
    "boolean": "max: {params: true}",
    "null": "max: {params: null}",
    "list": "max: {params: [1, 2]}",
    "metric_unknown": "max: {parsecs: 1}",
    "control_in_value": "max: {params: \"1\\x1bM\"}",
    "long_text": "max: {params: '" + "1" * 70 + "'}",
}

BAD_BUDGET_FILES: dict[str, str] = {
    "baseline_outside": budget("tiny.yaml", "max: {params: 1M}", "baseline: ../outside.json"),
    "baseline_absolute": budget("tiny.yaml", "max: {params: 1M}", "baseline: /etc/passwd"),
    "baseline_dotdot_deep": budget("tiny.yaml", "max: {params: 1M}",
                                   "baseline: sub/../../../x.json"),
    "model_missing": budget("nope.yaml", "max: {params: 1M}"),
    "model_python_tag": budget("!!python/object/apply:os.system ['true']", "max: {params: 1M}"),
    "version_2": budget("tiny.yaml", "max: {params: 1M}").replace("version: 1", "version: 2"),
    "version_unicode": budget("tiny.yaml", "max: {params: 1M}").replace("version: 1",
                                                                        "version: '١'"),
    "no_checks": "version: 1\nchecks: []\n",
    "torch_without_input": budget("models.py:Small", "max: {params: 1M}"),
    "torch_input_unicode": "version: 1\nchecks:\n  - model: models.py:Small\n"
                           "    input: '1,3,٨,8'\n    max: {params: 1M}\n",
    "torch_input_huge": "version: 1\nchecks:\n  - model: models.py:Small\n"
                        "    input: [1, 3, 100000000000000000000, 8]\n    max: {params: 1M}\n",
    "torch_input_elements": "version: 1\nchecks:\n  - model: models.py:Small\n"
                            "    input: [1000000, 1000000, 1000000, 1000000]\n"
                            "    max: {params: 1M}\n",
    "alias_bomb": "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                  "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nversion: 1\nchecks: *e\n",
}


def baseline_doc(counts: object, **top: object) -> str:
    data: dict[str, object] = {"schema": 1, "convcost": "0.1.0", "convention": {},
                               "checks": {"tiny": {"model": "tiny.yaml", "scope": None,
                                                   "input_shape": [[1, 3, 16, 16]],
                                                   "counts": counts}}}
    data.update(top)
    return json.dumps(data)


BAD_BASELINES: dict[str, str] = {
    "not_json": "{not json",
    "truncated": baseline_doc({"params": 1})[:40],
    "empty": "",
    "list": "[1, 2, 3]",
    "schema_2": baseline_doc({"params": 1}, schema=2),
    "digits_5000": baseline_doc({"params": 1}).replace('"params": 1', '"params": ' + "9" * 5000),
    "beyond_1e18": baseline_doc({"params": 10**19}),
    "negative": baseline_doc({"params": -1}),
    "float": baseline_doc({"params": 1.5}),
    "float_huge": baseline_doc({"params": 1}).replace('"params": 1', '"params": 1e99999'),
    "nan": baseline_doc({"params": 1}).replace('"params": 1', '"params": NaN'),
    "deep": "[" * 100000 + "]" * 100000,
    "string_count": baseline_doc({"params": "1"}),
    "bool_count": baseline_doc({"params": True}),
    "nul_bytes": "\x00\x00\x00",
    "not_utf8": "\udcff",
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    return path
