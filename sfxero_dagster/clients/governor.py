"""A per-tenant rate governor for Xero: stay under the limits instead of bouncing off them.

Xero allows 5 concurrent calls, 60 per minute and 5,000 per day per organisation (1,000 on Starter), and
says which limit a 429 hit in ``X-Rate-Limit-Problem``. The governor keeps its own rolling window of
calls, believes the server's ``X-*Limit-Remaining`` headers when they are stricter, waits (through an
injectable clock and sleep, so tests drive it with the sandbox clock) when the minute is used up, and
raises :class:`DailyLimitReached` instead of looping when the day is: the caller parks and resumes later.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass


class DailyLimitReached(RuntimeError):
    """The organisation's daily call budget is spent; resume after ``resume_at`` (epoch seconds)."""

    def __init__(self, tenant_id: str, resume_at: float) -> None:
        super().__init__(f"Xero daily API limit reached for tenant {tenant_id}; resume after {resume_at:.0f}")
        self.tenant_id = tenant_id
        self.resume_at = resume_at


@dataclass
class GovernorStats:
    calls: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    throttled: int = 0  # 429s received


class RateGovernor:
    def __init__(
        self,
        tenant_id: str,
        *,
        minute_limit: int = 60,
        day_limit: int = 5000,
        concurrent_limit: int = 5,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.tenant_id = tenant_id
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self.clock = clock
        self.sleep = sleep
        self._slots = threading.BoundedSemaphore(concurrent_limit)
        self._lock = threading.Lock()
        self._minute: deque[float] = deque()
        self._day: deque[float] = deque()
        self._pause_until = 0.0
        self._day_blocked_until = 0.0
        self.stats = GovernorStats()

    def _wait_needed(self, now: float) -> float:
        while self._minute and self._minute[0] <= now - 60:
            self._minute.popleft()
        while self._day and self._day[0] <= now - 86_400:
            self._day.popleft()
        if self._day_blocked_until > now or len(self._day) >= self.day_limit:
            resume = max(self._day_blocked_until, (self._day[0] + 86_400) if self._day else now)
            raise DailyLimitReached(self.tenant_id, resume)
        waits = [self._pause_until - now]
        if len(self._minute) >= self.minute_limit:
            waits.append(self._minute[0] + 60 - now)
        return max(waits)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the tenant's concurrent slots for one call, after waiting for minute capacity.

        When the call ends, its entry in the windows moves from when it was let go to when its answer
        came back. Xero counts a call when it arrives, somewhere in between; counted from the start, the
        call ``minute_limit`` later could arrive up to a round trip before this one leaves Xero's window
        and earn a 429 (the P3 benchmark got one at a window edge). Counted from the answer it cannot.
        """
        with self._slots:
            while True:
                with self._lock:
                    wait = self._wait_needed(self.clock())
                    if wait <= 0:
                        started = self.clock()
                        self._minute.append(started)
                        self._day.append(started)
                        self.stats.calls += 1
                        break
                self.stats.waits += 1
                self.stats.waited_seconds += wait
                self.sleep(wait)
            try:
                yield
            finally:
                ended = self.clock()
                if ended > started:
                    with self._lock:
                        for window in (self._minute, self._day):
                            if started in window:  # else already trimmed: the answer time still counts
                                window.remove(started)
                            bisect.insort(window, ended)  # kept sorted: [0] is the oldest

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Trust the server's remaining counts when they say less than our own window does."""
        if not headers:
            return
        get = {k.lower(): v for k, v in headers.items()}.get
        now = self.clock()
        with self._lock:
            minute_left = get("x-minlimit-remaining")
            if minute_left is not None and int(minute_left) <= 0:
                self._pause_until = max(
                    self._pause_until, (self._minute[0] + 60) if self._minute else now + 60
                )
            day_left = get("x-daylimit-remaining")
            if day_left is not None and int(day_left) <= 0:
                self._day_blocked_until = max(
                    self._day_blocked_until, (self._day[0] + 86_400) if self._day else now + 86_400
                )

    def throttled(self, problem: str | None, retry_after: float | None) -> None:
        """Record a 429: pause for Retry-After (minute/concurrent), or park for the day."""
        now = self.clock()
        self.stats.throttled += 1
        with self._lock:
            if (problem or "").lower() in ("day", "daily"):
                self._day_blocked_until = now + (retry_after or 86_400)
                raise DailyLimitReached(self.tenant_id, self._day_blocked_until)
            self._pause_until = max(self._pause_until, now + (retry_after or 60))
