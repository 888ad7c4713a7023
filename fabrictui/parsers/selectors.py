"""Calico's selector expressions (`app == 'nginx' && !has(debug)`) and Kubernetes label
selectors (matchLabels, matchExpressions), both turned into one `Selector` that says
whether a set of labels matches.

Calico's grammar, as its policy reference gives it: `all()`, `has(k)`, `k == 'v'`,
`k != 'v'`, `k in {'a', 'b'}`, `k not in {...}`, `k contains 's'`, `k starts with 's'`,
`k ends with 's'`, `!`, `&&`, `||` and parentheses; `!=` and `not in` also match a pod
without the label. Anything else is a ParseError naming the text and where it stopped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fabrictui.parsers import ParseError

# a node of the tree: ("all",), ("has", k), ("op", k, op, values), ("not", n),
# ("and", a, b), ("or", a, b)
Node = tuple[Any, ...]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>&&|\|\||==|!=|!|\(|\)|\{|\}|,)"
    r"|(?P<word>[A-Za-z0-9_./-]+))"
)


@dataclass(frozen=True, slots=True)
class Selector:
    """A selector as written (for messages) and its parsed tree."""

    text: str
    tree: Node

    def matches(self, labels: Mapping[str, str]) -> bool:
        return _eval(self.tree, labels)


ALL = Selector("all()", ("all",))
MAX_DEPTH = 64  # parentheses and negations inside one another


def _eval(node: Node, labels: Mapping[str, str]) -> bool:
    kind = node[0]
    if kind == "all":
        return True
    if kind == "has":
        return node[1] in labels
    if kind == "not":
        return not _eval(node[1], labels)
    if kind == "and":
        return _eval(node[1], labels) and _eval(node[2], labels)
    if kind == "or":
        return _eval(node[1], labels) or _eval(node[2], labels)
    _, key, op, values = node
    value = labels.get(key)
    if op in ("!=", "not in"):
        return value is None or value not in values
    if value is None:
        return False
    if op in ("==", "in"):
        return value in values
    if op == "contains":
        return values[0] in value
    if op == "starts with":
        return value.startswith(values[0])
    return value.endswith(values[0])  # "ends with"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ParseError(f"selector {text!r}: cannot read from {text[pos:][:20]!r}")
        out.append(m.group(m.lastgroup or "word"))
        pos = m.end()
    return out


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> str | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise ParseError(
                f"selector {self.text!r}: expected {want or 'more'}, found {tok or 'the end'}"
            )
        self.i += 1
        return tok

    def string(self) -> str:
        tok = self.take()
        if len(tok) < 2 or tok[0] not in "'\"" or tok[-1] != tok[0]:
            raise ParseError(f"selector {self.text!r}: expected a quoted value, found {tok}")
        return tok[1:-1]

    def expr(self) -> Node:
        node = self.conj()
        while self.peek() == "||":
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.unary()
        while self.peek() == "&&":
            self.take()
            node = ("and", node, self.unary())
        return node

    def unary(self) -> Node:
        self.depth += 1  # nesting beyond any real selector: refuse before Python's limit
        if self.depth > MAX_DEPTH:
            raise ParseError(f"selector {self.text[:40]!r}...: nested too deep")
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> Node:
        tok = self.peek()
        if tok == "!":
            self.take()
            return ("not", self.unary())
        if tok == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        if tok in ("all", "has") and self.peek(1) == "(":
            self.take()
            self.take("(")
            if tok == "all":
                self.take(")")
                return ("all",)
            key = self.take()
            self.take(")")
            return ("has", key)
        return self.compare()

    def compare(self) -> Node:
        key = self.take()
        if not re.fullmatch(r"[A-Za-z0-9_./-]+", key):
            raise ParseError(f"selector {self.text!r}: expected a label name, found {key}")
        op = self.take()
        if op in ("==", "!=", "contains"):
            return ("op", key, op, (self.string(),))
        if op in ("starts", "ends"):
            self.take("with")
            return ("op", key, f"{op} with", (self.string(),))
        if op == "not":
            self.take("in")
            op = "not in"
        elif op != "in":
            raise ParseError(f"selector {self.text!r}: unknown operator {op} after {key}")
        self.take("{")
        values: list[str] = []
        while self.peek() != "}":
            values.append(self.string())
            if self.peek() == ",":
                self.take()
        self.take("}")
        return ("op", key, op, tuple(values))


def calico_selector(text: Any, what: str = "selector") -> Selector:
    """A Calico selector expression; empty or absent means all()."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return ALL
    if not isinstance(text, str):
        raise ParseError(f"{what}: {type(text).__name__}, not a selector expression")
    reader = _Reader(text)
    tree = reader.expr()
    if reader.peek() is not None:
        raise ParseError(f"selector {text!r}: unexpected {reader.peek()}")
    return Selector(text.strip(), tree)


def label_selector(obj: Any, what: str = "selector") -> Selector:
    """A Kubernetes LabelSelector (`{}` matches everything), written as Calico would."""
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise ParseError(f"{what}: {type(obj).__name__}, not a label selector")
    parts: list[Node] = []
    words: list[str] = []
    labels = obj.get("matchLabels") or {}
    if not isinstance(labels, dict):
        raise ParseError(f"{what}.matchLabels: not a map")
    for key, value in sorted(labels.items()):
        parts.append(("op", str(key), "==", (str(value),)))
        words.append(f"{key} == '{value}'")
    exprs = obj.get("matchExpressions") or []
    if not isinstance(exprs, list):
        raise ParseError(f"{what}.matchExpressions: not a list")
    for expr in exprs:
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            raise ParseError(f"{what}.matchExpressions: an entry without a key")
        key, op = expr["key"], expr.get("operator")
        values = tuple(str(v) for v in expr.get("values") or [])
        if op == "In":
            parts.append(("op", key, "in", values))
        elif op == "NotIn":
            parts.append(("op", key, "not in", values))
        elif op == "Exists":
            parts.append(("has", key))
        elif op == "DoesNotExist":
            parts.append(("not", ("has", key)))
        else:
            raise ParseError(f"{what}.matchExpressions: unknown operator {op!r}")
        words.append(f"{key} {op} {list(values)}" if values else f"{key} {op}")
    if not parts:
        return ALL
    tree = parts[0]
    for part in parts[1:]:
        tree = ("and", tree, part)
    return Selector(" && ".join(words), tree)
