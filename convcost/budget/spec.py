"""Budget files: ``budgets.yaml`` -> a frozen :class:`Budget`; inline ``--max`` flags too.

Every key and value is checked as it is read; an unknown key, an unknown metric or a bad value
is an :class:`~convcost.errors.InputError` whose context is ``file:line:col`` and the key path
(``budgets.yaml:6:12: checks[0].max.macs: ...``), exit 2.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcost._compat import StrEnum
from convcost.budget.units import Amount, Metric, UnitError, parse_amount, parse_metric, parse_pair
from convcost.errors import Context, InputError
from convcost.frontends.onnx_load import is_onnx
from convcost.frontends.torch_source import InputSpec, as_input_specs
from convcost.frontends.yaml_nodes import Pos, YMap, YNode, YScalar, YSeq, describe, read_yaml

VERSION = 1
YAML_SUFFIXES = (".yaml", ".yml")
TORCH_FILE_SUFFIXES = (".pt", ".ts", ".pth", ".jit", ".pt2")

TOP_KEYS = ("version", "baseline", "checks")
CHECK_KEYS = ("name", "model", "input", "kwargs", "scope", "max", "max_increase", "level")


class Level(StrEnum):
    ERROR = "error"
    WARN = "warn"


@dataclass(frozen=True)
class Where:
    """Where a budget value is written: ``budgets.yaml:6`` or an inline flag."""

    file: str | None = None
    line: int | None = None
    col: int | None = None
    flag: str | None = None

    def __str__(self) -> str:
        if self.file is not None and self.line is not None:
            return f"{self.file}:{self.line}"
        return self.flag or self.file or "?"


@dataclass(frozen=True)
class Threshold:
    metric: Metric
    amount: Amount
    where: Where


@dataclass(frozen=True)
class Check:
    name: str
    model: str
    """The model as written in the budget file (for messages and baselines)."""
    source: str
    """What convcost analyses: a path resolved against the budget file, or a module spec."""
    where: Where
    inputs: tuple[InputSpec, ...] = ()
    kwargs: Mapping[str, Any] | None = None
    scope: str | None = None
    scope_where: Where | None = None
    maxima: tuple[Threshold, ...] = ()
    increases: tuple[Threshold, ...] = ()
    level: Level = Level.ERROR

    @property
    def is_yaml(self) -> bool:
        return self.source.lower().endswith(YAML_SUFFIXES)

    @property
    def model_key(self) -> str:
        """Equal for two checks that analyse the same model the same way (one analysis)."""
        inputs = ";".join(f"{','.join(map(str, s.shape))}:{s.dtype}" for s in self.inputs)
        kwargs = json.dumps(self.kwargs, sort_keys=True, default=str) if self.kwargs else ""
        return f"{self.source}|{inputs}|{kwargs}"

    def metrics(self) -> tuple[Metric, ...]:
        used = {t.metric for t in (*self.maxima, *self.increases)}
        return tuple(m for m in Metric if m in used)

    def maximum(self, metric: Metric) -> Threshold | None:
        return next((t for t in self.maxima if t.metric is metric), None)

    def increase(self, metric: Metric) -> Threshold | None:
        return next((t for t in self.increases if t.metric is metric), None)


@dataclass(frozen=True)
class Budget:
    checks: tuple[Check, ...]
    file: str | None = None
    """The budget file as given; None for inline ``--max`` flags."""
    baseline: str | None = None
    """The baseline file named in the budget, resolved against the budget file's directory."""
    baseline_where: Where | None = None
    version: int = VERSION
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- detection


def read_document(path: str) -> YNode:
    """Read a YAML file into positioned nodes (missing or unreadable files are InputErrors)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", Context(file=path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a budget file", Context(file=path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read: {e}", Context(file=path)) from None
    if not text.strip():
        raise InputError("empty file: expected a mapping with 'version' and 'checks'",
                         Context(file=path, line=1, col=1))
    return read_yaml(text, path)


def is_budget_file(path: str) -> bool:
    """A YAML file whose top level has ``checks`` or ``version`` is a budget file.

    A YAML file that cannot be read or parsed is an error here (file:line), whichever it was
    meant to be; a torch source (not ``.yaml``) is never a budget file.
    """
    if not path.lower().endswith(YAML_SUFFIXES):
        return False
    root = read_document(path)
    return isinstance(root, YMap) and ("checks" in root.items or "version" in root.items)


# ---------------------------------------------------------------- the loader


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(options)}"


class _Reader:
    def __init__(self, file: str, *, baseline_given: bool = False) -> None:
        self.file = file
        self.base = Path(file).parent
        self.baseline_given = baseline_given

    def error(self, pos: Pos | None, key: str, message: str) -> InputError:
        return InputError(message, Context(file=self.file, line=pos.line if pos else None,
                                           col=pos.col if pos else None, key=key or None))

    def where(self, pos: Pos) -> Where:
        return Where(self.file, pos.line, pos.col)

    def mapping(self, node: YNode, key: str, allowed: Sequence[str]) -> YMap:
        if not isinstance(node, YMap):
            raise self.error(node.pos, key, f"expected a mapping, got {describe(node)}")
        for k in node.items:
            if k not in allowed:
                sub = f"{key}.{k}" if key else k
                raise self.error(node.key_pos[k], sub, f"unknown key {k!r}"
                                 + _suggest(k, allowed))
        return node

    def string(self, node: YNode, key: str) -> str:
        if not isinstance(node, YScalar) or not isinstance(node.value, str) or not node.value:
            raise self.error(node.pos, key, f"expected a non-empty string, got {describe(node)}")
        return node.value

    # -------------------------------------------------------------- top level

    def budget(self, root: YNode) -> Budget:
        top = self.mapping(root, "", TOP_KEYS)
        version = VERSION
        if "version" in top.items:
            node = top.items["version"]
            if not isinstance(node, YScalar) or node.value != VERSION or \
                    isinstance(node.value, bool):
                raise self.error(node.pos, "version", f"unsupported version {describe(node)}; "
                                 f"this convcost reads version {VERSION}")
        baseline = baseline_where = None
        if "baseline" in top.items:
            node = top.items["baseline"]
            baseline = os.path.normpath(self.base / self.string(node, "baseline"))
            baseline_where = self.where(node.pos)
            if not self.baseline_given and not _inside(baseline, self.base):
                raise self.error(node.pos, "baseline", f"{self.string(node, 'baseline')!r} is "
                                 "outside the budget file's directory; a budget file may only "
                                 "name a baseline beside or below it (give --baseline FILE on "
                                 "the command line to use another)")
        if "checks" not in top.items:
            raise self.error(top.pos, "checks", "missing key 'checks': a list of checks, each "
                             "with 'model' and 'max' or 'max_increase'")
        node = top.items["checks"]
        if not isinstance(node, YSeq) or not node.items:
            raise self.error(node.pos, "checks", "expected a non-empty list of checks, got "
                             + ("an empty list" if isinstance(node, YSeq) else describe(node)))
        checks: list[Check] = []
        names: dict[str, Where] = {}
        for i, item in enumerate(node.items):
            check = self.check(item, f"checks[{i}]")
            if check.name in names:
                raise self.error(item.pos, f"checks[{i}].name", f"duplicate check name "
                                 f"{check.name!r} (first at {names[check.name]}); names key "
                                 "the baseline, so they must differ")
            names[check.name] = check.where
            checks.append(check)
        return Budget(tuple(checks), self.file, baseline, baseline_where, version)

    # -------------------------------------------------------------- one check

    def check(self, node: YNode, key: str) -> Check:
        m = self.mapping(node, key, CHECK_KEYS)
        items = m.items
        if "model" not in items:
            raise self.error(m.pos, f"{key}.model", "missing key 'model': a YAML description "
                             "or a torch source (package.module:factory, file.py:Name)")
        model_node = items["model"]
        model = self.string(model_node, f"{key}.model")
        source = self.resolve(model)
        is_yaml = source.lower().endswith(YAML_SUFFIXES)
        if _looks_like_path(model) and not Path(_file_part(source)).exists():
            raise self.error(model_node.pos, f"{key}.model",
                             f"no such file {_file_part(source)!r} (model paths are relative "
                             f"to the budget file's directory)")
        inputs: tuple[InputSpec, ...] = ()
        if "input" in items:
            if is_yaml:
                raise self.error(m.key_pos["input"], f"{key}.input", "a YAML description "
                                 "carries its own input shape; remove 'input'")
            inputs = self.inputs(items["input"], f"{key}.input")
        elif not is_yaml and not is_onnx(source):
            raise self.error(model_node.pos, f"{key}.input", "a torch source needs an input "
                             "shape: add 'input: [1, 3, 224, 224]'")
        kwargs = None
        if "kwargs" in items:
            if is_yaml:
                raise self.error(m.key_pos["kwargs"], f"{key}.kwargs",
                                 "kwargs apply to torch factories, not YAML descriptions")
            kw = plain(items["kwargs"])
            if not isinstance(kw, dict):
                raise self.error(items["kwargs"].pos, f"{key}.kwargs",
                                 f"expected a mapping, got {describe(items['kwargs'])}")
            kwargs = kw
        scope = scope_where = None
        if "scope" in items:
            scope = self.string(items["scope"], f"{key}.scope")
            scope_where = self.where(items["scope"].pos)
        maxima = self.thresholds(items.get("max"), f"{key}.max", increase=False)
        increases = self.thresholds(items.get("max_increase"), f"{key}.max_increase",
                                    increase=True)
        if not maxima and not increases:
            raise self.error(m.pos, key, "this check limits nothing: add 'max' (e.g. "
                             "{macs: 600M}) or 'max_increase' (e.g. {macs: 1%})")
        level = Level.ERROR
        if "level" in items:
            word = items["level"]
            if not isinstance(word, YScalar) or word.value not in ("error", "warn"):
                raise self.error(word.pos, f"{key}.level",
                                 f"expected 'error' or 'warn', got {describe(word)}")
            level = Level(str(word.value))
        if "name" in items:
            name = self.string(items["name"], f"{key}.name")
        else:
            name = model + (f" [{scope}]" if scope else "")
        return Check(name=name, model=model, source=source, where=self.where(m.pos),
                     inputs=inputs, kwargs=kwargs, scope=scope, scope_where=scope_where,
                     maxima=maxima, increases=increases, level=level)

    def resolve(self, model: str) -> str:
        """Paths are relative to the budget file's directory; module specs stay as written."""
        if not _looks_like_path(model):
            return model
        target, sep, name = _split(model)
        path = Path(target)
        resolved = os.path.normpath(path if path.is_absolute() else self.base / path)
        return resolved + (f"{sep}{name}" if sep else "")

    def inputs(self, node: YNode, key: str) -> tuple[InputSpec, ...]:
        value = plain(node)
        try:
            if isinstance(value, str):
                return as_input_specs(value)
            if isinstance(value, list) and value and all(
                    (isinstance(v, int) and not isinstance(v, bool)) or
                    (isinstance(v, list) and v and
                     all(isinstance(s, int) and not isinstance(s, bool) for s in v))
                    for v in value):
                return as_input_specs(value)
        except InputError as e:
            raise self.error(node.pos, key, e.message) from None
        raise self.error(node.pos, key, f"expected a shape such as [1, 3, 224, 224] or "
                         f"'1,3,224,224', got {describe(node)}")

    def thresholds(self, node: YNode | None, key: str, *, increase: bool
                   ) -> tuple[Threshold, ...]:
        if node is None:
            return ()
        if not isinstance(node, YMap):
            raise self.error(node.pos, key, f"expected a mapping of metric: value, e.g. "
                             f"{{macs: {'1%' if increase else '600M'}}}, got {describe(node)}")
        if not node.items:
            raise self.error(node.pos, key, "empty: give at least one metric")
        out = []
        for name, value in node.items.items():
            sub = f"{key}.{name}"
            try:
                metric = parse_metric(name)
            except UnitError as e:
                raise self.error(node.key_pos[name], sub, str(e)) from None
            if not isinstance(value, YScalar):
                raise self.error(value.pos, sub, f"expected a number such as "
                                 f"{'1%' if increase else '600M'}, got {describe(value)}")
            try:
                amount = parse_amount(value.value, metric, increase=increase)
            except UnitError as e:
                raise self.error(value.pos, sub, str(e)) from None
            out.append(Threshold(metric, amount, self.where(value.pos)))
        return tuple(out)


def plain(node: YNode) -> Any:
    """Positioned nodes -> plain Python values."""
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [plain(v) for v in node.items]
    return {k: plain(v) for k, v in node.items.items()}


def _split(model: str) -> tuple[str, str, str]:
    """``dir/file.py:Net`` -> ('dir/file.py', ':', 'Net'); a drive colon is not a separator."""
    head, sep, tail = model.rpartition(":")
    if not sep or len(head) <= 1 or "/" in tail or "\\" in tail:
        return model, "", ""
    return head, sep, tail


def _file_part(source: str) -> str:
    return _split(source)[0]


def _looks_like_path(model: str) -> bool:
    target = _split(model)[0].lower()
    return target.endswith((*YAML_SUFFIXES, *TORCH_FILE_SUFFIXES, ".py", ".onnx")) or \
        "/" in target


def _inside(path: str, folder: Path) -> bool:
    """``path`` (symlinks resolved) lies in ``folder`` or below it."""
    root = os.path.realpath(folder)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def load_budget(path: str, *, baseline_given: bool = False) -> Budget:
    """Read and check a budget file; every problem is an InputError at its file:line:col.

    ``baseline_given``: the baseline comes from the command line, so the file's own
    ``baseline:`` may point anywhere (it is not used)."""
    return _Reader(path, baseline_given=baseline_given).budget(read_document(path))


def inline_budget(source: str, maxima: Sequence[str], increases: Sequence[str], *,
                  inputs: tuple[InputSpec, ...] = (), kwargs: Mapping[str, Any] | None = None,
                  scope: str | None = None) -> Budget:
    """One check from ``--max metric=value`` flags on the command line."""
    def parse(flag: str, texts: Sequence[str], increase: bool) -> tuple[Threshold, ...]:
        out: dict[Metric, Threshold] = {}
        for text in texts:
            shown = text if len(text) <= 40 else text[:30] + "..."
            try:
                name, value = parse_pair(text)
                metric = parse_metric(name)
                amount = parse_amount(value, metric, increase=increase)
            except UnitError as e:
                raise InputError(str(e), Context(flag=f"{flag} {shown}")) from None
            if metric in out:
                raise InputError(f"{metric} is given twice", Context(flag=f"{flag} {shown}"))
            out[metric] = Threshold(metric, amount, Where(flag=f"{flag} {text}"))
        return tuple(out.values())

    is_yaml = source.lower().endswith(YAML_SUFFIXES)
    if is_yaml and inputs:
        raise InputError("a YAML description carries its own input shape", Context(flag="--input"))
    if not is_yaml and not inputs and not is_onnx(source):
        raise InputError("a torch source needs --input, e.g. --input 1,3,224,224",
                         Context(flag="--input"))
    if is_yaml and not Path(source).is_file():
        raise InputError("no such file", Context(file=source))
    checks = Check(
        name=source + (f" [{scope}]" if scope else ""), model=source, source=source,
        where=Where(flag=source), inputs=inputs, kwargs=kwargs, scope=scope,
        scope_where=Where(flag=f"--scope {scope}") if scope else None,
        maxima=parse("--max", maxima, False), increases=parse("--max-increase", increases, True),
    )
    if not checks.maxima and not checks.increases:
        raise InputError("nothing to check: give --max METRIC=VALUE (e.g. --max macs=600M) or a "
                         "budget file", Context(flag="--max"))
    return Budget((checks,))
