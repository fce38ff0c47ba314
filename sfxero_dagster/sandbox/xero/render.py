"""Request parsing and response rendering shared by every Xero endpoint.

Parsing: the element list of a write, ``summarizeErrors``, ``unitdp``, id lists. Rendering: the
envelope of a 200, the ``summarizeErrors`` semantics of a write, and the reads' If-Modified-Since,
``where``, ``order`` and paging. Nothing here knows a resource's rules; the backends call it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..clock import SandboxClock
from ..httpbase import Request, Response
from .errors import bad_request, validation_exception
from .model import render
from .settings import XeroSandboxSettings
from .where import WhereError, compile_where
from .wire import envelope, ms_from_datetime, parse_date, parse_if_modified_since

# (rendered element, errors, warnings) for each element of a write
Result = tuple[dict, list[str], list[str]]


# ---------------------------------------------------------------------------------------- parsing
def json_elements(req: Request, collection: str) -> list[dict]:
    """The elements of a write: ``{"Invoices": [...]}``, a bare list or one bare object."""
    body = req.json()
    if body is None:
        raise ValueError("The request body is empty")
    if isinstance(body, dict) and collection in body:
        items = body[collection]
    elif isinstance(body, list):
        items = body
    else:
        items = [body]
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise ValueError(f"{collection} must be a list of objects")
    return items


def summarize(req: Request) -> bool:
    return (req.arg("summarizeErrors") or "true").lower() != "false"


def unitdp_of(req: Request) -> int:
    return 4 if (req.arg("unitdp") or "") == "4" else 2


def id_set(req: Request, name: str) -> set[str] | None:
    raw = req.arg(name)
    return {x.strip().lower() for x in raw.split(",") if x.strip()} if raw else None


def echo(el: dict) -> dict:
    """The submitted element as Xero echoes it back next to its errors (dates normalised)."""
    out = dict(el)
    for fld in ("Date", "DueDate"):
        if fld in out:
            try:
                out[fld] = parse_date(out[fld])
            except ValueError:
                out.pop(fld)
    return out


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def order_by(records: list[dict], order: str) -> list[dict] | Response:
    """Sort by Xero's ``order`` parameter (``Field [ASC|DESC], ...``; dotted paths allowed)."""
    keys = []
    for part in [p.strip() for p in order.split(",") if p.strip()]:
        bits = part.split()
        if len(bits) > 2 or (len(bits) == 2 and bits[1].upper() not in ("ASC", "DESC")):
            return bad_request(f"cannot order by {part!r}")
        keys.append((bits[0], len(bits) == 2 and bits[1].upper() == "DESC"))

    def value(r: dict, path: str) -> Any:
        v: Any = r
        for p in path.split("."):
            v = v.get(p) if isinstance(v, dict) else None
        return v

    for path, desc in reversed(keys):
        records = sorted(
            records,
            key=lambda r, p=path: (
                value(r, p) is None,
                str(value(r, p)).lower() if isinstance(value(r, p), str) else value(r, p) or 0,
            ),
            reverse=desc,
        )
    return records


# -------------------------------------------------------------------------------------- rendering
class Renderer:
    """Builds Xero's responses; it reads the app name and the clock at the time of each answer."""

    def __init__(self, settings: XeroSandboxSettings, clock: SandboxClock) -> None:
        self.settings = settings
        self.clock = clock

    def now_ms(self) -> int:
        return ms_from_datetime(self.clock.now())

    def reply(self, key: str, items: list[dict], **extra: Any) -> Response:
        """A 200 in Xero's envelope: Id, Status, ProviderName, DateTimeUTC and the collection."""
        return Response.json(envelope(self.settings.app_name, self.now_ms(), key, items, **extra))

    def write_response(self, req: Request, key: str, results: list[Result]) -> Response:
        """Implements summarizeErrors: one failure fails the request (400), or each element says."""
        now = self.now_ms()
        if summarize(req):
            failed = [(el, errs) for el, errs, _ in results if errs]
            if failed:
                elements = [{**el, "ValidationErrors": [{"Message": m} for m in errs]} for el, errs in failed]
                return Response.json(validation_exception(elements), 400)
            return Response.json(envelope(self.settings.app_name, now, key, [el for el, _, _ in results]))
        out = []
        for el, errs, warns in results:
            el = dict(el)
            el["StatusAttributeString"] = "ERROR" if errs else ("WARNING" if warns else "OK")
            if errs:
                el["ValidationErrors"] = [{"Message": m} for m in errs]
                el["HasErrors"] = True
                el["HasValidationErrors"] = True
            if warns:
                el["Warnings"] = [{"Message": m} for m in warns]
            out.append(el)
        return Response.json(envelope(self.settings.app_name, now, key, out))

    def listing(self, req: Request, records: list[dict], key: str, *, paged: bool, order: str) -> Response:
        """A collection read: If-Modified-Since, where, order, page/pageSize, summaryOnly, unitdp."""
        ims = req.header("If-Modified-Since")
        if ims:
            try:
                since = parse_if_modified_since(ims)
            except (ValueError, TypeError):
                return bad_request(f"If-Modified-Since is not a valid timestamp: {ims}")
            records = [r for r in records if r.get("UpdatedDateUTC", 0) // 1000 * 1000 >= since]
        where = req.arg("where")
        if where:
            try:
                pred = compile_where(where)
            except WhereError as exc:
                return bad_request(str(exc))
            records = [r for r in records if pred(r)]
        ordered = order_by(records, req.arg("order") or order)
        if isinstance(ordered, Response):
            return ordered
        records = ordered
        page = req.arg("page")
        extra: dict[str, Any] = {}
        with_lines = not paged
        if paged and page is not None:
            try:
                page_no = max(1, int(page))
                size = int(req.arg("pageSize") or 100)
            except ValueError:
                return bad_request("page and pageSize must be whole numbers")
            size = max(1, min(size, 1000))
            total = len(records)
            extra["pagination"] = {
                "page": page_no,
                "pageSize": size,
                "pageCount": (total + size - 1) // size,
                "itemCount": total,
            }
            records = records[(page_no - 1) * size : page_no * size]
            with_lines = True
        if (req.arg("summaryOnly") or "").lower() == "true":
            with_lines = False
        unitdp = unitdp_of(req)
        return self.reply(key, [render(r, unitdp=unitdp, with_lines=with_lines) for r in records], **extra)

    def settings_list(self, req: Request, key: str, rows: list[dict]) -> Response:
        """A settings read (tax rates, accounts...): where and order, no paging."""
        where = req.arg("where")
        if where:
            try:
                pred = compile_where(where)
            except WhereError as exc:
                return bad_request(str(exc))
            rows = [x for x in rows if pred(x)]
        order = req.arg("order")
        if order:
            ordered = order_by(rows, order)
            if isinstance(ordered, Response):
                return ordered
            rows = ordered
        return self.reply(key, [render(x) for x in rows])
