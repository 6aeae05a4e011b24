"""The one kind of registry convcost keeps: a key registered once, looked up after a loader
has run. Formulas and shape rules, aten and ONNX handlers, YAML kinds and torch modules are
each a :class:`Table`; registering a key twice is the same error everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class RegistryError(RuntimeError):
    """A programming error in a registry (never a user's input)."""


class Table(Generic[K, V]):
    """``key -> value``, each key once. ``load`` (when given) imports what registers into the
    table; every lookup runs it until it has run once, so the table is complete whoever asks
    first."""

    def __init__(self, what: str, load: Callable[[], None] | None = None) -> None:
        self.what = what
        """How an error names an entry: ``a formula for``, ``a YAML kind``."""
        self.entries: dict[K, V] = {}
        """The entries as registered so far (no loading: for registration and hot paths)."""
        self._load = load

    def add(self, key: K, value: V, name: object = None) -> None:
        if key in self.entries:
            shown = key if name is None else name
            raise RegistryError(f"{self.what} {shown} is already registered")
        self.entries[key] = value

    def loaded(self) -> dict[K, V]:
        """Every entry, the loader run first."""
        if self._load is not None:
            self._load()
            self._load = None
        return self.entries

    def get(self, key: K) -> V | None:
        return self.loaded().get(key)
