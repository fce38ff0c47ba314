"""SOQL over REST: ``query`` and ``queryAll`` with paging. A result larger than one batch is kept under
a cursor; ``nextRecordsUrl`` names the cursor and offset of the next page (``Sforce-Query-Options:
batchSize`` sets the page size). Cursors live in memory: a restarted emulator forgets them, as
Salesforce expires query locators.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...httpbase import Request, Response
from ..errors import api_error
from ..render import batch_size
from ..soql import SoqlError, execute
from .org import Org


class Query:
    def __init__(self, org: Org) -> None:
        self.org = org
        self._cursors: dict[str, list[dict]] = {}
        org.on_reset.append(self._cursors.clear)

    def query(self, req: Request, include_deleted: bool) -> Response:
        q = req.arg("q")
        if not q:
            return api_error("MALFORMED_QUERY", "A query string has to be specified")
        try:
            result = execute(
                q, self.org, now=self.org.now(), api_version=req.params["v"], include_deleted=include_deleted
            )
        except SoqlError as exc:
            return api_error(exc.error_code, exc.message)
        return self._page(req, result.records, result.total_size, 0, batch_size(req), None)

    def _page(
        self, req: Request, records: list[dict], total: int, offset: int, size: int, cursor: str | None
    ) -> Response:
        chunk = records[offset : offset + size]
        body: dict[str, Any] = {"totalSize": total, "done": offset + size >= len(records), "records": chunk}
        if not body["done"]:
            cursor = cursor or f"01g{uuid.uuid4().hex[:15]}"
            self._cursors[cursor] = records
            body["nextRecordsUrl"] = f"/services/data/v{req.params['v']}/query/{cursor}-{offset + size}"
        return Response.json(body)

    def query_more(self, req: Request) -> Response:
        cursor, _, offset = req.params["locator"].rpartition("-")
        records = self._cursors.get(cursor)
        if records is None or not offset.isdigit():
            return api_error("INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(req, records, len(records), int(offset), batch_size(req), cursor)
