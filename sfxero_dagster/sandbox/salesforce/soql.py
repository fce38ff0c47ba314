"""SOQL for the emulator: a real grammar (lark, LALR) and an evaluator over stored records.

Supported: field lists with parent paths (``Account.Owner.Email``), child sub-queries, ``COUNT()``,
WHERE with AND/OR/NOT and parentheses, ``= != <> < <= > >= IN NOT IN LIKE``, null, booleans, numbers,
quoted strings with escapes, date and datetime literals (with ``Z``/``±hh:mm`` offsets and millis),
``TODAY``/``YESTERDAY``/``TOMORROW``/``THIS_MONTH``/… and ``LAST_N_DAYS:n``/``NEXT_N_DAYS:n`` (against the
sandbox clock, in UTC), ORDER BY with ASC/DESC and NULLS FIRST/LAST, LIMIT and OFFSET. Anything else is a
``MALFORMED_QUERY`` with its position, never silently ignored. String comparison ignores case.

One module (~640 lines) on purpose: the grammar's transformer, the AST it builds and the evaluator
over that AST change together whenever a SOQL feature is added.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from .schema import ObjectDef, Schema

_GRAMMAR = Path(__file__).with_name("soql.lark")
SF_DATETIME = "%Y-%m-%dT%H:%M:%S.000+0000"


class SoqlError(ValueError):
    """A query Salesforce would refuse: ``error_code`` is MALFORMED_QUERY, INVALID_TYPE, INVALID_FIELD ..."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


class RecordSource(Protocol):
    schema: Schema

    def records(self, object_name: str) -> Iterable[dict[str, Any]]: ...
    def get(self, object_name: str, record_id: str) -> dict[str, Any] | None: ...


# ----- AST -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, null, boolean, date, datetime, date_range
    value: Any


@dataclass
class OrderItem:
    path: tuple[str, ...]
    descending: bool = False
    nulls_last: bool | None = None

    @property
    def effective_nulls_last(self) -> bool:
        return self.descending if self.nulls_last is None else self.nulls_last


@dataclass
class SubQuery:
    fields: list[tuple[str, ...]]
    relationship: str
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None


@dataclass
class Query:
    select: list[Any]  # tuple path | SubQuery | "COUNT()"
    from_object: str
    where: Any = None
    order: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None

    @property
    def is_count(self) -> bool:
        return self.select == ["COUNT()"]


@dataclass
class QueryResult:
    records: list[dict[str, Any]]
    total_size: int


# ``\%`` and ``\_`` only mean something to LIKE; they are kept as a marker, never as a real backslash,
# which would be confused with a literal backslash followed by % or _.
LIKE_MARK = "\x00"
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "'": "'",
    '"': '"',
    "\\": "\\",
    "%": LIKE_MARK + "%",
    "_": LIKE_MARK + "_",
}


def _unescape(body: str) -> str:
    """SOQL escapes; ``\\%`` and ``\\_`` stay marked so LIKE can tell them from wildcards."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
            continue
        if nxt not in _ESCAPES:
            raise SoqlError("MALFORMED_QUERY", f"Invalid string literal: unknown escape sequence \\{nxt}")
        out.append(_ESCAPES[nxt])
        i += 2
    return "".join(out)


class _ToAst(Transformer):
    def path(self, items: list[Token]) -> tuple[str, ...]:
        return tuple(str(t) for t in items)

    def path_list(self, items: list) -> list:
        return list(items)

    def count_all(self, _: list) -> str:
        return "COUNT()"

    def select_list(self, items: list) -> list:
        return list(items)

    def string(self, items: list[Token]) -> Literal:
        return Literal("string", _unescape(str(items[0])[1:-1]))

    def number(self, items: list[Token]) -> Literal:
        return Literal("number", Decimal(str(items[0])))

    def null(self, _: list) -> Literal:
        return Literal("null", None)

    def true(self, _: list) -> Literal:
        return Literal("boolean", True)

    def false(self, _: list) -> Literal:
        return Literal("boolean", False)

    def datetime(self, items: list[Token]) -> Literal:
        text = str(items[0]).replace("Z", "+00:00")
        if re.search(r"[+-]\d{4}$", text):
            text = text[:-2] + ":" + text[-2:]
        return Literal("datetime", datetime.fromisoformat(text).astimezone(UTC))

    def date(self, items: list[Token]) -> Literal:
        try:
            return Literal("date", date.fromisoformat(str(items[0])))
        except ValueError as exc:
            raise SoqlError("MALFORMED_QUERY", f"invalid date: {items[0]}") from exc

    def date_literal(self, items: list[Token]) -> Literal:
        return Literal("date_range", str(items[0]).upper())

    def date_n_literal(self, items: list[Token]) -> Literal:
        return Literal("date_range", str(items[0]).upper())

    def value_list(self, items: list) -> list:
        return list(items)

    def cmp(self, items: list) -> tuple:
        path, op, value = items
        return ("cmp", path, "!=" if str(op) == "<>" else str(op), value)

    def in_(self, items: list) -> tuple:
        return ("in", items[0], items[1])

    def not_in(self, items: list) -> tuple:
        return ("not_in", items[0], items[1])

    def like(self, items: list) -> tuple:
        return ("like", items[0], items[1])

    def and_(self, items: list) -> tuple:
        return ("and", items[0], items[1])

    def or_(self, items: list) -> tuple:
        return ("or", items[0], items[1])

    def not_(self, items: list) -> tuple:
        return ("not", items[0])

    def where_clause(self, items: list) -> Any:
        return ("where", items[0])

    def order_item(self, items: list) -> OrderItem:
        item = OrderItem(items[0])
        for tok in items[1:]:
            text = str(tok).upper()
            if text in ("ASC", "DESC"):
                item.descending = text == "DESC"
            else:
                item.nulls_last = text.endswith("LAST")
        return item

    def order_clause(self, items: list) -> tuple:
        return ("order", list(items))

    def limit_clause(self, items: list) -> tuple:
        return ("limit", int(items[0]))

    def offset_clause(self, items: list) -> tuple:
        return ("offset", int(items[0]))

    def subquery(self, items: list) -> SubQuery:
        sub = SubQuery(items[0], str(items[1]))
        for part in items[2:]:
            kind, value = part
            if kind == "where":
                sub.where = value
            elif kind == "order":
                sub.order = value
            elif kind == "limit":
                sub.limit = value
        return sub

    def start(self, items: list) -> Query:
        q = Query(items[0], str(items[1]))
        for part in items[2:]:
            kind, value = part
            setattr(q, kind, value)
        return q


@cache
def _parser() -> Lark:
    return Lark(_GRAMMAR.read_text(), parser="lalr", lexer="contextual", propagate_positions=False)


def parse(text: str) -> Query:
    try:
        tree: Tree = _parser().parse(text)
    except UnexpectedEOF:
        raise SoqlError(
            "MALFORMED_QUERY", f"{text}\nERROR at Row:1:Column:{len(text) + 1}\nunexpected token: '<EOF>'"
        ) from None
    except (UnexpectedToken, UnexpectedCharacters) as exc:
        token = getattr(exc, "token", None)
        shown = (
            "<EOF>"
            if token is not None and token.type == "$END"
            else str(token)
            if token is not None
            else text[exc.pos_in_stream : exc.pos_in_stream + 1]
        )
        raise SoqlError(
            "MALFORMED_QUERY",
            f"{text}\nERROR at Row:{exc.line}:Column:{exc.column}\nunexpected token: '{shown}'",
        ) from None
    except UnexpectedInput as exc:  # pragma: no cover - lark's other input errors
        raise SoqlError("MALFORMED_QUERY", f"{text}\nunexpected input at {exc.pos_in_stream}") from None
    try:
        query = _ToAst().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SoqlError):
            raise exc.orig_exc from None
        raise
    if query.is_count is False and "COUNT()" in query.select:
        raise SoqlError("MALFORMED_QUERY", "COUNT() must be the only element in the SELECT list")
    return query


# ----- evaluation ---------------------------------------------------------------------------------
def _date_range(name: str, now: datetime) -> tuple[date, date]:
    """[start, end) of a relative date literal, in UTC days."""
    today = now.astimezone(UTC).date()
    m = re.fullmatch(r"(LAST|NEXT)_N_DAYS:(\d+)", name)
    if m:
        n = int(m.group(2))
        return (
            (today - timedelta(days=n), today + timedelta(days=1))
            if m.group(1) == "LAST"
            else (today, today + timedelta(days=n + 1))
        )
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    ranges = {
        "TODAY": (today, today + timedelta(days=1)),
        "YESTERDAY": (today - timedelta(days=1), today),
        "TOMORROW": (today + timedelta(days=1), today + timedelta(days=2)),
        "THIS_MONTH": (first, next_month),
        "LAST_MONTH": ((first - timedelta(days=1)).replace(day=1), first),
        "NEXT_MONTH": (next_month, (next_month + timedelta(days=32)).replace(day=1)),
        "THIS_YEAR": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "LAST_YEAR": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
    }
    return ranges[name]


def _fmt_dt(d: date | datetime) -> str:
    if isinstance(d, datetime):
        return d.astimezone(UTC).strftime(SF_DATETIME)
    return datetime(d.year, d.month, d.day, tzinfo=UTC).strftime(SF_DATETIME)


_NUMERIC = {"int", "double", "currency", "percent"}
_TEXT = {"id", "string", "textarea", "email", "phone", "url", "picklist", "reference"}


class _Evaluator:
    def __init__(self, source: RecordSource, now: datetime, api_version: str, include_deleted: bool) -> None:
        self.source = source
        self.schema = source.schema
        self.now = now
        self.api_version = api_version
        self.include_deleted = include_deleted

    # --- metadata ---
    def obj(self, name: str) -> ObjectDef:
        o = self.schema.get(name)
        if o is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to "
                "append the '__c' after the entity name.",
            )
        return o

    def resolve(
        self, obj: ObjectDef, path: tuple[str, ...]
    ) -> tuple[list[tuple[ObjectDef, str]], ObjectDef, str]:
        """Walk ``Account.Owner.Email``: the lookups to follow, the final object and its field name."""
        hops = []
        current = obj
        for rel in path[:-1]:
            lookup = current.relationship(rel)
            if lookup is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom "
                    "relationship, be sure to append the '__r' after the custom relationship name.",
                )
            hops.append((current, lookup.name))
            current = self.obj(lookup.reference_to[0])
        f = current.field(path[-1])
        if f is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{path[-1]}' on entity '{current.name}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the custom field name.",
            )
        return hops, current, f.name

    def getter(self, obj: ObjectDef, path: tuple[str, ...]) -> tuple[Callable[[dict], Any], str]:
        hops, final, fname = self.resolve(obj, path)
        ftype = final.fields[fname].type
        names = [(o.fields[h].reference_to[0], h) for o, h in hops]

        def get(record: dict) -> Any:
            rec: dict | None = record
            for target, lookup in names:
                ref = rec.get(lookup) if rec else None
                rec = self.source.get(target, ref) if ref else None
                if rec is None:
                    return None
            return rec.get(fname) if rec else None

        return get, ftype

    # --- predicates ---
    def predicate(self, obj: ObjectDef, node: Any) -> Callable[[dict], bool]:
        kind = node[0]
        if kind == "and":
            a, b = self.predicate(obj, node[1]), self.predicate(obj, node[2])
            return lambda r: a(r) and b(r)
        if kind == "or":
            a, b = self.predicate(obj, node[1]), self.predicate(obj, node[2])
            return lambda r: a(r) or b(r)
        if kind == "not":
            a = self.predicate(obj, node[1])
            return lambda r: not a(r)
        raw_get, ftype = self.getter(obj, node[1])
        fname = node[1][-1]
        norm = _normaliser(ftype)

        def get(r: dict) -> Any:
            return norm(raw_get(r))

        if kind in ("in", "not_in"):
            values = {norm(self.coerce(v, ftype, fname)) for v in node[2]}
            negate = kind == "not_in"
            return lambda r: (get(r) in values) != negate
        if kind == "like":
            if node[2].kind != "string" or ftype not in _TEXT:
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"invalid operator on field: {fname}; LIKE needs a text field and a quoted string",
                )
            rx = _like_regex(node[2].value)
            return lambda r: isinstance(v := raw_get(r), str) and rx.fullmatch(v) is not None
        op, lit = node[2], node[3]
        if lit.kind == "date_range":
            if ftype not in ("date", "datetime"):
                raise SoqlError(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    f"value of filter criterion for field '{fname}' must be of type {ftype}",
                )
            start, end = _date_range(lit.value, self.now)
            lo, hi = (
                (start.isoformat(), end.isoformat()) if ftype == "date" else (_fmt_dt(start), _fmt_dt(end))
            )
            tests = {
                "=": lambda v: lo <= v < hi,
                "!=": lambda v: not (lo <= v < hi),
                "<": lambda v: v < lo,
                "<=": lambda v: v < hi,
                ">": lambda v: v >= hi,
                ">=": lambda v: v >= lo,
            }
            t = tests[op]
            return lambda r: (v := get(r)) is not None and t(v)
        value = norm(self.coerce(lit, ftype, fname))
        if op == "=":
            return lambda r: get(r) == value
        if op == "!=":
            return lambda r: get(r) != value
        compare = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }[op]

        def ordered(r: dict) -> bool:
            v = get(r)
            if v is None or value is None:
                return False
            try:
                return compare(v, value)
            except TypeError:
                return False

        return ordered

    def coerce(self, lit: Literal, ftype: str, fname: str) -> Any:
        """A literal in the stored representation of the field, or the error Salesforce gives."""
        if lit.kind == "null":
            return None
        bad = SoqlError(
            "INVALID_QUERY_FILTER_OPERATOR",
            f"value of filter criterion for field '{fname}' must be of type {ftype} and should not be enclosed in quotes"
            if lit.kind == "string"
            else f"value of filter criterion for field '{fname}' must be of type {ftype}",
        )
        if ftype == "boolean":
            if lit.kind != "boolean":
                raise bad
            return lit.value
        if ftype in _NUMERIC:
            if lit.kind != "number":
                raise bad
            return lit.value
        if ftype == "date":
            if lit.kind != "date":
                raise bad
            return lit.value.isoformat()
        if ftype == "datetime":
            if lit.kind != "datetime":
                raise bad
            return _fmt_dt(lit.value)
        if lit.kind != "string":
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{fname}' must be a quoted string",
            )
        return lit.value.replace(LIKE_MARK, "")

    # --- ordering ---
    def sort(self, obj: ObjectDef, rows: list[dict], order: list[OrderItem]) -> list[dict]:
        for item in reversed(order):
            get, _ = self.getter(obj, item.path)
            nulls_last = item.effective_nulls_last
            present = [r for r in rows if get(r) is not None]
            missing = [r for r in rows if get(r) is None]
            present.sort(key=lambda r, g=get: _sort_key(g(r)), reverse=item.descending)
            rows = present + missing if nulls_last else missing + present
        return rows

    # --- output ---
    def attributes(self, obj: ObjectDef, record_id: str) -> dict[str, str]:
        return {
            "type": obj.name,
            "url": f"/services/data/v{self.api_version}/sobjects/{obj.name}/{record_id}",
        }

    def project(
        self, obj: ObjectDef, record: dict, select: list[Any], children: dict[str, dict[str, list[dict]]]
    ) -> dict:
        out: dict[str, Any] = {"attributes": self.attributes(obj, record["Id"])}
        for item in select:
            if isinstance(item, SubQuery):
                rel = obj.child(item.relationship)
                kids = children[rel.name].get(record["Id"], [])
                out[rel.name] = {"totalSize": len(kids), "done": True, "records": kids} if kids else None
                continue
            self._put_path(obj, record, item, out)
        return out

    def _put_path(self, obj: ObjectDef, record: dict, path: tuple[str, ...], out: dict) -> None:
        if len(path) == 1:
            f = obj.field(path[0])
            out[f.name] = record.get(f.name)
            return
        lookup = obj.relationship(path[0])
        rel_name = lookup.relationship
        target = self.obj(lookup.reference_to[0])
        parent_id = record.get(lookup.name)
        parent = self.source.get(target.name, parent_id) if parent_id else None
        if parent is None:
            out[rel_name] = None
            return
        node = out.get(rel_name) or {"attributes": self.attributes(target, parent["Id"])}
        out[rel_name] = node
        self._put_path(target, parent, path[1:], node)

    def visible(self, record: dict) -> bool:
        return self.include_deleted or not record.get("IsDeleted")

    def run(self, query: Query) -> QueryResult:
        obj = self.obj(query.from_object)
        for item in query.select:
            if isinstance(item, tuple):
                self.resolve(obj, item)
        pred = self.predicate(obj, query.where) if query.where is not None else None
        for item in query.order:
            self.resolve(obj, item.path)
        rows = [r for r in self.source.records(obj.name) if self.visible(r) and (pred is None or pred(r))]
        if query.is_count:
            return QueryResult([], len(rows))
        rows = self.sort(obj, rows, query.order)
        if query.offset:
            rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        children = self.children(obj, query, {r["Id"] for r in rows})
        return QueryResult([self.project(obj, r, query.select, children) for r in rows], len(rows))

    def children(
        self, obj: ObjectDef, query: Query, parent_ids: set[str]
    ) -> dict[str, dict[str, list[dict]]]:
        out: dict[str, dict[str, list[dict]]] = {}
        for sub in [s for s in query.select if isinstance(s, SubQuery)]:
            rel = obj.child(sub.relationship)
            if rel is None:
                raise SoqlError(
                    "INVALID_TYPE",
                    f"Didn't understand relationship '{sub.relationship}' in FROM part of query call.",
                )
            child = self.obj(rel.child_object)
            for path in sub.fields:
                self.resolve(child, path)
            pred = self.predicate(child, sub.where) if sub.where is not None else None
            grouped: dict[str, list[dict]] = defaultdict(list)
            for r in self.source.records(child.name):
                pid = r.get(rel.field)
                if pid in parent_ids and self.visible(r) and (pred is None or pred(r)):
                    grouped[pid].append(r)
            projected = {}
            for pid, kids in grouped.items():
                kids = self.sort(child, kids, sub.order)
                if sub.limit is not None:
                    kids = kids[: sub.limit]
                projected[pid] = [self.project(child, k, sub.fields, {}) for k in kids]
            out[rel.name] = projected
        return out


def _normaliser(ftype: str) -> Callable[[Any], Any]:
    """Comparable form of a stored value: text ignores case, numbers compare as Decimal, dates as text."""
    if ftype in _TEXT:
        return lambda v: v.lower() if isinstance(v, str) else v
    if ftype in _NUMERIC:

        def num(v: Any) -> Any:
            if v is None or isinstance(v, bool | Decimal):
                return v
            try:
                return Decimal(str(v))
            except InvalidOperation:
                return v

        return num
    return lambda v: v


def _sort_key(v: Any) -> Any:
    if isinstance(v, str):
        return (0, v.lower())
    if isinstance(v, bool):
        return (1, v)
    return (1, Decimal(str(v)))


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == LIKE_MARK and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def execute(
    query: Query | str,
    source: RecordSource,
    *,
    now: datetime,
    api_version: str = "59.0",
    include_deleted: bool = False,
) -> QueryResult:
    """Run ``query`` over ``source``; ``now`` drives TODAY/LAST_N_DAYS (the sandbox clock)."""
    q = parse(query) if isinstance(query, str) else query
    return _Evaluator(source, now, api_version, include_deleted).run(q)
