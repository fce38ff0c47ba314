"""API request limits: every authenticated REST and Bulk call counts toward the org's daily total
(``REQUEST_LIMIT_EXCEEDED`` past it), reported back in the ``Sforce-Limit-Info`` header and by the
``limits`` resource; the control route sets the limit or clears the count.
"""

from __future__ import annotations

from ..httpbase import Request, Response
from .backend.org import Org
from .errors import request_limit_exceeded


class Limits:
    def __init__(self, org: Org) -> None:
        self.org = org

    @staticmethod
    def metered(req: Request) -> bool:
        """REST and Bulk calls need a session and count; logins and control routes do not."""
        path = req.raw_path
        return path.startswith("/services/data") or path.startswith("/services/async")

    def count(self, req: Request) -> Response | None:
        """Count the request toward today's total, or refuse it past the limit (caller holds the lock)."""
        usage = self.org.store.get_meta("api_usage", {"day": "", "count": 0})
        today = self.org.now().date().isoformat()
        if usage["day"] != today:
            usage = {"day": today, "count": 0}
        if usage["count"] >= self.org.settings.daily_api_limit:
            req.usage = usage["count"]  # type: ignore[attr-defined]
            return request_limit_exceeded()
        usage["count"] += 1
        req.usage = usage["count"]  # type: ignore[attr-defined]
        self.org.store.set_meta("api_usage", usage)
        return None

    def header(self, req: Request, resp: Response) -> Response:
        """``Sforce-Limit-Info: api-usage=used/limit`` on every counted response."""
        if hasattr(req, "usage"):
            resp.headers["Sforce-Limit-Info"] = f"api-usage={req.usage}/{self.org.settings.daily_api_limit}"  # type: ignore[attr-defined]
        return resp

    def set_daily_limit(self, limit: int) -> None:
        self.org.settings.daily_api_limit = limit

    def limits(self, req: Request) -> Response:
        usage = self.org.store.get_meta("api_usage", {"count": 0})
        limit = self.org.settings.daily_api_limit
        return Response.json(
            {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - usage["count"])}}
        )

    def ctl_limits(self, req: Request) -> Response:
        body = req.json() or {}
        if "daily_api_limit" in body:
            self.org.settings.daily_api_limit = int(body["daily_api_limit"])
        if body.get("reset_usage"):
            self.org.store.set_meta("api_usage", {"day": "", "count": 0})
        return Response.json(
            {
                "daily_api_limit": self.org.settings.daily_api_limit,
                "usage": self.org.store.get_meta("api_usage", {}),
            }
        )
