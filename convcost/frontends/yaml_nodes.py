"""Safe YAML reading that remembers where every mapping, key, value and list item came from.

The document is *composed* by a :class:`yaml.SafeLoader` subclass (so no Python object is ever
built from a tag) and then converted by hand into a small tree of positioned nodes. Only the
plain YAML scalar types are constructed (null, bool, int, float, str); any other tag --
``!!python/object``, ``!!binary``, ``!custom`` -- is an error that points at it. Duplicate keys,
non-string keys, recursive aliases and alias bombs are errors too.
"""

from __future__ import annotations

from dataclasses import dataclass

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

MAX_NODES = 50_000
"""More nodes than this (after expanding aliases) is refused: an alias bomb, not a model."""

MAX_INT = 10**18
"""The largest integer a document may hold (a sexagesimal 1:0:0:... grows past any size)."""

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str")}


class _Loader(yaml.SafeLoader):
    """SafeLoader; we only compose with it and construct plain scalars ourselves."""


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
    def __init__(self, loader: _Loader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.count = 0
        self.active: set[int] = set()

    def convert(self, node: yaml.Node, key: str) -> YNode:
        self.count += 1
        if self.count > MAX_NODES:
            raise error(self.file, _pos(node.start_mark), key,
                        f"document too large (more than {MAX_NODES} nodes after aliases)")
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
            self.loader.flatten_mapping(node)  # resolves '<<' merge keys, merged pairs first
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
        if node is None:
            raise error(file, Pos(1, 1), "<document>", "empty document: expected a mapping "
                        "with 'name', 'input' and 'layers'")
        try:
            return _Converter(loader, file).convert(node, "")
        except RecursionError:
            raise error(file, None, "<document>", "document nested too deeply") from None
    finally:
        loader.dispose()


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
