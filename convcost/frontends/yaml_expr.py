"""A tiny, safe arithmetic evaluator for sizes written as expressions (``"2*c"``, ``"c // 2"``).

Grammar (no ``eval``; names are looked up through a callback)::

    expr   := term (('+' | '-') term)*
    term   := unary (('*' | '/' | '//') unary)*
    unary  := ('+' | '-') unary | atom
    atom   := NUMBER | NAME | '(' expr ')'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

Number = int | float

MAX_MAGNITUDE = 10**15
"""Any intermediate value larger than this is refused (sizes are never that large)."""
MAX_LENGTH = 500


class ExprError(ValueError):
    """An expression could not be evaluated; the caller adds file, line and key."""


_TOKEN = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|(//|[-+*/()]))",
                    re.ASCII)  # digits are 0-9 only: '٣' or '²' is not a number here
MAX_NUMBER_DIGITS = 30
"""A number literal longer than this is refused before it is converted."""


def tokenize(text: str) -> list[str]:
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    tokens: list[str] = []
    i = 0
    stripped = text.rstrip()
    while i < len(stripped):
        m = _TOKEN.match(stripped, i)
        if m is None or m.end() == i:
            bad = stripped[i:].lstrip()[:1]
            raise ExprError(f"unexpected {bad!r} in expression {text!r}")
        tokens.append(m.group(m.lastindex or 0))
        i = m.end()
    if not tokens:
        raise ExprError("empty expression")
    return tokens


def names_in(text: str) -> list[str]:
    """The names an expression uses (no evaluation)."""
    return [t for t in tokenize(text) if t[0].isalpha() or t[0] == "_"]


def _check(v: Number) -> Number:
    if isinstance(v, float) and not math.isfinite(v):
        raise ExprError("expression is not a finite number")
    if abs(v) > MAX_MAGNITUDE:
        raise ExprError(f"value {v} is too large")
    return v


class _Parser:
    def __init__(self, text: str, lookup: Callable[[str], Number]) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.lookup = lookup
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ExprError(f"expression {self.text!r} ends too early")
        self.i += 1
        return tok

    def parse(self) -> Number:
        v = self.expr()
        if self.peek() is not None:
            raise ExprError(f"unexpected {self.peek()!r} in expression {self.text!r}")
        return v

    def expr(self) -> Number:
        v = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            w = self.term()
            v = _check(v + w if op == "+" else v - w)
        return v

    def term(self) -> Number:
        v = self.unary()
        while self.peek() in ("*", "/", "//"):
            op = self.take()
            w = self.unary()
            if op == "*":
                v = _check(v * w)
                continue
            if w == 0:
                raise ExprError(f"division by zero in expression {self.text!r}")
            v = _check(v / w if op == "/" else v // w)
        return v

    def unary(self) -> Number:
        tok = self.peek()
        if tok in ("+", "-"):
            self.take()
            self.depth += 1
            if self.depth > 100:
                raise ExprError("expression nested too deeply")
            v = self.unary()
            self.depth -= 1
            return -v if tok == "-" else v
        return self.atom()

    def atom(self) -> Number:
        tok = self.take()
        if tok == "(":
            self.depth += 1
            if self.depth > 100:
                raise ExprError("expression nested too deeply")
            v = self.expr()
            self.depth -= 1
            if self.take() != ")":
                raise ExprError(f"missing ')' in expression {self.text!r}")
            return v
        if tok[0].isdigit() or tok[0] == ".":
            if len(tok) > MAX_NUMBER_DIGITS:
                raise ExprError(f"number {tok[:12]}... is too long")
            return _check(float(tok) if "." in tok else int(tok))
        if tok[0].isalpha() or tok[0] == "_":
            return self.lookup(tok)
        raise ExprError(f"unexpected {tok!r} in expression {self.text!r}")


def evaluate(text: str, lookup: Callable[[str], Number]) -> Number:
    """Evaluate ``text``; ``lookup(name)`` gives a name's value or raises ExprError."""
    return _Parser(text, lookup).parse()
