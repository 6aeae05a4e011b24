"""Safe YAML reading that remembers where every mapping, key, value and list item came from.

The document is *composed* by libyaml (``yaml.CSafeLoader``) where PyYAML was built with it,
else by a :class:`yaml.SafeLoader` subclass (so no Python object is ever built from a tag), and
then converted by hand into a small tree of positioned nodes. A document libyaml refuses is
read again by the pure-Python loader, so every error message and position is the same with or
without libyaml. Only the plain YAML scalar types are constructed (null, bool, int, float,
str); any other tag -- ``!!python/object``, ``!!binary``, ``!custom`` -- is an error that points
at it. Duplicate keys, non-string keys, recursive aliases and alias or merge-key bombs are
errors too; a large document written out in full is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from convcost.errors import Context, InputError


class SpecError(InputError):
    """A model description (YAML spec) is wrong; the context says where (file:line:col: key)."""


@dataclass(frozen=True)
class Pos:
    """1-based line and column."""

    line: int
    col: int


@dataclass(frozen=True)
class YScalar:
    value: str | int | float | bool | None
    pos: Pos


@dataclass(frozen=True)
class YSeq:
    items: tuple[YNode, ...]
    pos: Pos


@dataclass(frozen=True)
class YMap:
    items: dict[str, YNode]
    """Values in document order."""
    key_pos: dict[str, Pos]
    """Where each key is written."""
    pos: Pos


YNode = YScalar | YSeq | YMap

MAX_REPEATS = 100_000
"""Nodes that aliases and merge keys may repeat (beyond the document's own nodes, which are not
limited): past this, the document is an alias bomb, not a model."""

MAX_INT = 10**18
"""The largest integer a document may hold (a sexagesimal 1:0:0:... grows past any size)."""

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str")}


class _Loader(yaml.SafeLoader):
    """SafeLoader; we only compose with it and construct plain scalars ourselves."""


_FastLoader: type[Any] | None = None
if getattr(yaml, "__with_libyaml__", False):  # pragma: no branch

    class _CLoader(yaml.CSafeLoader):
        """libyaml's parser and composer, PyYAML's safe constructor and resolver."""

    _FastLoader = _CLoader


def _pos(mark: yaml.Mark | None) -> Pos:
    if mark is None:
        return Pos(1, 1)
    return Pos(mark.line + 1, mark.column + 1)


def error(file: str, pos: Pos | None, key: str, message: str) -> SpecError:
    """The one way this front-end makes an error: ``file:line:col: key: message``."""
    return SpecError(
        message,
        Context(
            file=file,
            line=pos.line if pos else None,
            col=pos.col if pos else None,
            key=key or "<document>",
        ),
    )


class _Converter:
    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.repeats = 0
        self.seen: set[int] = set()
        self.active: set[int] = set()

    def repeated(self, node: yaml.Node, key: str) -> None:
        """Count a node converted again (through an alias or a merge key): a bomb is refused
        after MAX_REPEATS of them, however large it would grow."""
        self.repeats += 1
        if self.repeats > MAX_REPEATS:
            raise error(self.file, _pos(node.start_mark), key,
                        f"document too large: aliases and merge keys repeat more than "
                        f"{MAX_REPEATS} nodes (an alias bomb?)")

    def convert(self, node: yaml.Node, key: str) -> YNode:
        if id(node) in self.seen:
            self.repeated(node, key)
        else:
            self.seen.add(id(node))
        if id(node) in self.active:
            raise error(self.file, _pos(node.start_mark), key, "recursive alias")
        pos = _pos(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return YScalar(self._scalar(node, key), pos)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != _TAG + "seq":
                    raise error(self.file, pos, key, f"unsupported YAML tag {node.tag!r}")
                return YSeq(
                    tuple(self.convert(v, f"{key}[{i}]") for i, v in enumerate(node.value)), pos
                )
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, key, pos)
        finally:
            self.active.discard(id(node))
        raise error(self.file, pos, key, f"unsupported YAML node {type(node).__name__}")

    def flatten(self, node: yaml.MappingNode, key: str) -> None:
        """Resolve ``<<`` merge keys in place, merged pairs first: PyYAML's own
        ``flatten_mapping`` (6.0.2 and later), with every merged pair counted, so that a
        merge-key bomb is refused quickly under any PyYAML."""
        merge: list[tuple[yaml.Node, yaml.Node]] = []
        merged_keys: set[int] = set()
        index = 0
        while index < len(node.value):
            key_node, value_node = node.value[index]
            if key_node.tag == _TAG + "merge":
                del node.value[index]
                if isinstance(value_node, yaml.MappingNode):
                    subnodes = [value_node]
                elif isinstance(value_node, yaml.SequenceNode):
                    subnodes = value_node.value
                    for sub in subnodes:
                        if not isinstance(sub, yaml.MappingNode):
                            raise yaml.constructor.ConstructorError(
                                "while constructing a mapping", node.start_mark,
                                f"expected a mapping for merging, but found {sub.id}",
                                sub.start_mark)
                else:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        "expected a mapping or list of mappings for merging, but found "
                        f"{value_node.id}", value_node.start_mark)
                for sub in subnodes:
                    if id(sub) in self.active:
                        raise error(self.file, _pos(sub.start_mark), key, "recursive alias")
                    self.active.add(id(sub))
                    try:
                        self.flatten(sub, key)
                    finally:
                        self.active.discard(id(sub))
                    for pair in sub.value:
                        if id(pair[0].value) not in merged_keys:
                            merged_keys.add(id(pair[0].value))
                            merge.append(pair)
                            self.repeated(pair[0], key)
            elif key_node.tag == _TAG + "value":
                key_node.tag = _TAG + "str"
                index += 1
            else:
                index += 1
        if merge:
            node.value = merge + node.value

    def _scalar(self, node: yaml.ScalarNode, key: str) -> str | int | float | bool | None:
        pos = _pos(node.start_mark)
        tag = node.tag
        if tag == _TAG + "timestamp":
            return str(node.value)  # a date-like string is kept as written
        if tag not in _PLAIN_TAGS:
            raise error(self.file, pos, key,
                        f"unsupported YAML tag {tag!r}: only plain values are allowed")
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            shown = node.value if len(node.value) <= 40 else node.value[:20] + "..."
            raise error(self.file, pos, key, f"bad {tag.removeprefix(_TAG)} value "
                        f"{shown!r}: {str(exc)[:120]}") from None
        if value is not None and not isinstance(value, str | int | float | bool):
            raise error(self.file, pos, key, f"unsupported value {node.value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise error(self.file, pos, key, f"integer {node.value[:20]!r}... is out of range "
                        "(at most 10^18)")
        return value

    def _mapping(self, node: yaml.MappingNode, key: str, pos: Pos) -> YMap:
        if node.tag != _TAG + "map":
            raise error(self.file, pos, key, f"unsupported YAML tag {node.tag!r}")
        explicit = sum(1 for k_node, _ in node.value if k_node.tag != _TAG + "merge")
        try:
            self.flatten(node, key)  # resolves '<<' merge keys, merged pairs first
        except yaml.YAMLError as exc:
            raise _yaml_error(self.file, exc) from None
        merged = len(node.value) - explicit
        items: dict[str, YNode] = {}
        key_pos: dict[str, Pos] = {}
        from_merge: set[str] = set()
        for index, (k_node, v_node) in enumerate(node.value):
            kpos = _pos(k_node.start_mark)
            if not isinstance(k_node, yaml.ScalarNode):
                raise error(self.file, kpos, key, "mapping keys must be plain strings")
            k = self._scalar(k_node, key)
            if not isinstance(k, str):
                # YAML 1.1 reads `on`/`yes`/`1` as bools/ints: keep the written text
                k = str(k_node.value)
            sub = f"{key}.{k}" if key else k
            if index < merged:
                from_merge.add(k)
            elif k in items and k not in from_merge:
                raise error(self.file, kpos, sub, f"duplicate key {k!r}")
            else:
                from_merge.discard(k)  # an explicit key overrides a merged one
            items.pop(k, None)
            key_pos[k] = kpos
            items[k] = self.convert(v_node, sub)
        return YMap(items, key_pos, pos)


def _yaml_error(file: str, exc: yaml.YAMLError) -> SpecError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    msg = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return error(file, _pos(mark) if mark is not None else None, "<document>", msg)


def read_yaml(text: str, file: str) -> YNode:
    """Parse one YAML document into positioned nodes; every failure is a SpecError."""
    if not text.strip():
        raise error(file, Pos(1, 1), "<document>", "empty file: expected a mapping with "
                    "'name', 'input' and 'layers'")
    if _FastLoader is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        fast = _FastLoader(text)
        try:
            node = fast.get_single_node()
        except (yaml.YAMLError, RecursionError):
            pass  # the pure-Python loader below says what is wrong, and where
        else:
            return _converted(fast, node, file)
        finally:
            fast.dispose()
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        pos = getattr(exc, "position", None)
        at = None
        if isinstance(pos, int):
            before = text[:pos]
            at = Pos(before.count("\n") + 1, pos - (before.rfind("\n") + 1) + 1)
        raise error(file, at, "<document>", f"YAML syntax error: {exc}".replace(
            '\n  in "<unicode string>"', "")) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _yaml_error(file, exc) from None
        except RecursionError:
            raise error(file, None, "<document>", "document nested too deeply") from None
        return _converted(loader, node, file)
    finally:
        loader.dispose()


def _converted(loader: Any, node: yaml.Node | None, file: str) -> YNode:
    if node is None:
        raise error(file, Pos(1, 1), "<document>", "empty document: expected a mapping "
                    "with 'name', 'input' and 'layers'")
    try:
        return _Converter(loader, file).convert(node, "")
    except RecursionError:
        raise error(file, None, "<document>", "document nested too deeply") from None


def describe(node: YNode) -> str:
    """What a node holds, for messages: 'a mapping', 'a list', 'nothing (null)', '12'."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    if node.value is None:
        return "nothing (null)"
    if isinstance(node.value, bool):
        return f"a boolean ({str(node.value).lower()})"
    return repr(node.value)
