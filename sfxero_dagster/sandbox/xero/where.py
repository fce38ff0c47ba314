"""Xero's ``where`` filter: a small LINQ-like language, parsed by recursive descent.

Supported: ``==``/``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``AND``/``&&``, ``OR``/``||``, ``!``/``NOT``,
parentheses, ``.Contains("x")``, ``.StartsWith("x")``, ``.EndsWith("x")``, ``guid("…")``,
``DateTime(y, m, d[, h, mi, s])``, strings, numbers, ``true``/``false``/``null`` and dotted field paths
(``Contact.ContactID``). String comparison ignores case, as Xero's does. Anything else is a
:class:`WhereError`, reported to the client as a 400 — never silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|>=|<=|&&|\|\||[=<>!(),.])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class WhereError(ValueError):
    pass


class _Date:
    """A DateTime(...) literal: compares with ISO dates and epoch-ms datetimes alike."""

    def __init__(self, dt: datetime) -> None:
        self.ms = int(dt.timestamp() * 1000)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise WhereError(f"cannot parse the where clause at position {pos}: {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


Getter = Callable[[dict, list[str]], Any]


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1].lower() != value.lower()):
            raise WhereError(f"expected {value or 'a value'} in the where clause")
        self.i += 1
        return tok

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1].upper() in words

    def parse(self) -> Callable[[dict], bool]:
        expr = self.or_()
        if self.peek() is not None:
            raise WhereError(f"unexpected {self.peek()[1]!r} in the where clause")
        return expr

    def or_(self):
        left = self.and_()
        while self.is_word("OR", "||"):
            self.take()
            right = self.and_()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def and_(self):
        left = self.not_()
        while self.is_word("AND", "&&"):
            self.take()
            right = self.not_()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def not_(self):
        if self.is_word("NOT", "!"):
            self.take()
            inner = self.not_()
            return lambda r: not inner(r)
        return self.atom()

    def atom(self):
        if self.peek() and self.peek()[1] == "(":
            self.take("(")
            inner = self.or_()
            self.take(")")
            return inner
        left = self.operand()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("==", "=", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.operand()
            return lambda r: _compare(left(r), op, right(r))
        return lambda r: bool(left(r))

    def operand(self):
        kind, value = self.take()
        if kind == "str":
            # only backslash escapes are special: non-ASCII text (Zoë, 株式会社) passes through whole
            text = re.sub(r"\\(.)", r"\1", value[1:-1])
            return lambda r: text
        if kind == "num":
            number = Decimal(value)
            return lambda r: number
        if kind != "name":
            raise WhereError(f"unexpected {value!r} in the where clause")
        upper = value.upper()
        if upper in ("TRUE", "FALSE"):
            flag = upper == "TRUE"
            return lambda r: flag
        if upper == "NULL":
            return lambda r: None
        if upper == "GUID" and self.peek() and self.peek()[1] == "(":
            self.take("(")
            kind2, text = self.take()
            self.take(")")
            if kind2 != "str":
                raise WhereError("guid() takes a quoted string")
            guid = text[1:-1].lower()
            return lambda r: guid
        if upper == "DATETIME" and self.peek() and self.peek()[1] == "(":
            self.take("(")
            parts = [int(self.take()[1])]
            while self.peek() and self.peek()[1] == ",":
                self.take(",")
                parts.append(int(self.take()[1]))
            self.take(")")
            if len(parts) < 3:
                raise WhereError("DateTime() needs at least year, month and day")
            lit = _Date(datetime(*parts, tzinfo=UTC))
            return lambda r: lit
        path = [value]
        while self.peek() and self.peek()[1] == ".":
            self.take(".")
            name = self.take()[1]
            if name in ("Contains", "StartsWith", "EndsWith") and self.peek() and self.peek()[1] == "(":
                self.take("(")
                arg = self.operand()
                self.take(")")
                target = list(path)
                return _method(name, target, arg)
            path.append(name)
        return lambda r, p=path: _get(r, p)


def _method(name: str, path: list[str], arg: Callable[[dict], Any]) -> Callable[[dict], bool]:
    def run(r: dict) -> bool:
        value, needle = _get(r, path), arg(r)
        if not isinstance(value, str) or not isinstance(needle, str):
            return False
        v, n = value.lower(), needle.lower()
        return n in v if name == "Contains" else v.startswith(n) if name == "StartsWith" else v.endswith(n)

    return run


def _get(record: dict, path: list[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
            continue
        lowered = {k.lower(): k for k in value}
        key = lowered.get(part.lower())
        value = value[key] if key else None
    return value


def _norm(value: Any, other: Any) -> Any:
    if isinstance(other, _Date):
        if isinstance(value, int):  # epoch ms (UpdatedDateUTC)
            return value
        if isinstance(value, str) and len(value) >= 10:
            d = datetime.fromisoformat(value[:10]).replace(tzinfo=UTC)
            return int(d.timestamp() * 1000)
        return None
    if isinstance(other, Decimal) and isinstance(value, int | float | Decimal | str):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return None
    if isinstance(value, str):
        return value.lower()
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(left, _Date) and not isinstance(right, _Date):
        left, right, op = right, left, {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
    lv, rv = _norm(left, right), right.ms if isinstance(right, _Date) else _norm(right, left)
    if op in ("==", "="):
        return lv == rv
    if op == "!=":
        return lv != rv
    if lv is None or rv is None:
        return False
    try:
        return {"<": lv < rv, "<=": lv <= rv, ">": lv > rv, ">=": lv >= rv}[op]
    except TypeError:
        return False


def compile_where(text: str) -> Callable[[dict], bool]:
    return _Parser(text).parse()
