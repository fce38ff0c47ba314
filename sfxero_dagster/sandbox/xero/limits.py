"""Xero's rate limits: per tenant 60 calls a minute, 5,000 a day and 5 in flight; 10,000 a minute per app.

A call over a limit gets 429 with ``Retry-After`` and ``X-Rate-Limit-Problem`` and is not counted;
every answer carries the ``X-*Limit-Remaining`` headers. Windows are sliding and kept in memory (a
restarted emulator starts with fresh windows, like a new minute); per-tenant overrides are stored.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque

from ..clock import SandboxClock
from ..httpbase import Request, Response
from ..store import RecordStore
from .errors import too_many
from .settings import XeroSandboxSettings
from .wire import ms_from_datetime

LIMIT_NAMES = ("minute", "day", "concurrent")


class RateLimiter:
    def __init__(
        self, settings: XeroSandboxSettings, store: RecordStore, lock: threading.RLock, clock: SandboxClock
    ) -> None:
        self.settings = settings
        self.store = store
        self.lock = lock  # the app's lock, for the stored overrides
        self.clock = clock
        self._limit_lock = threading.Lock()  # the windows, touched by every request thread
        self._inflight: dict[str, int] = defaultdict(int)
        self._minute: dict[str, deque[int]] = defaultdict(deque)
        self._day: dict[str, deque[int]] = defaultdict(deque)
        self._app_minute: deque[int] = deque()

    def now_ms(self) -> int:
        return ms_from_datetime(self.clock.now())

    def clear(self) -> None:
        with self._limit_lock:
            self._inflight.clear()
            self._minute.clear()
            self._day.clear()
            self._app_minute.clear()

    def limits_for(self, tid: str) -> dict[str, int]:
        over = self.store.get_meta("limits", {}).get(tid, {})
        s = self.settings
        return {
            "minute": over.get("minute", s.minute_limit),
            "day": over.get("day", s.day_limit),
            "concurrent": over.get("concurrent", s.concurrent_limit),
        }

    def set_limits(self, tid: str, **limits: int) -> None:
        allowed = set(LIMIT_NAMES)
        bad = set(limits) - allowed
        if bad:
            raise ValueError(f"unknown limit(s) {sorted(bad)}; allowed: {sorted(allowed)}")
        with self.lock:
            all_limits = self.store.get_meta("limits", {})
            all_limits.setdefault(tid, {}).update(limits)
            self.store.set_meta("limits", all_limits)

    @staticmethod
    def _trim(window: deque[int], horizon: int) -> None:
        while window and window[0] <= horizon:
            window.popleft()

    def admit(self, req: Request, tid: str | None) -> Response | None:
        """Count the call against the tenant's and the app's limits, or answer 429 (not counted)."""
        now = self.now_ms()
        with self._limit_lock:
            self._trim(self._app_minute, now - 60_000)
            if len(self._app_minute) >= self.settings.app_minute_limit:
                return too_many("appminute", -(-(self._app_minute[0] + 60_000 - now) // 1000))
            if tid is not None:
                lim = self.limits_for(tid)
                minute, day = self._minute[tid], self._day[tid]
                self._trim(minute, now - 60_000)
                self._trim(day, now - 86_400_000)
                if len(day) >= lim["day"]:
                    return too_many("day", -(-(day[0] + 86_400_000 - now) // 1000))
                if len(minute) >= lim["minute"]:
                    return too_many("minute", -(-(minute[0] + 60_000 - now) // 1000))
                if self._inflight[tid] >= lim["concurrent"]:
                    return too_many("concurrent", 1)
                minute.append(now)
                day.append(now)
                self._inflight[tid] += 1
                req.tenant_counted = tid  # type: ignore[attr-defined]
            self._app_minute.append(now)
        return None

    def release(self, req: Request) -> None:
        """The call is answered: it no longer counts against the tenant's concurrent limit."""
        tid = getattr(req, "tenant_counted", None)
        if tid is not None:
            with self._limit_lock:
                self._inflight[tid] -= 1

    def headers(self, tid: str | None) -> dict[str, str]:
        now = self.now_ms()
        with self._limit_lock:
            self._trim(self._app_minute, now - 60_000)
            headers = {
                "X-AppMinLimit-Remaining": str(max(0, self.settings.app_minute_limit - len(self._app_minute)))
            }
            if tid is not None:
                lim = self.limits_for(tid)
                self._trim(self._minute[tid], now - 60_000)
                self._trim(self._day[tid], now - 86_400_000)
                headers["X-MinLimit-Remaining"] = str(max(0, lim["minute"] - len(self._minute[tid])))
                headers["X-DayLimit-Remaining"] = str(max(0, lim["day"] - len(self._day[tid])))
        return headers
