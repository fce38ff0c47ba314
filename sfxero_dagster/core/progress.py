"""Progress lines for long steps: "what: done/total (pct), rate/s", throttled.

A step that pages 50,000 rows or sends 120 batches should show that it moves (and how fast) without
writing one log line per call: a line at most every ``interval`` seconds, and always the last one.
Pure: the log function and the clock are passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    def __init__(
        self,
        log: Callable[[str], None] | None,
        what: str,
        total: int | None = None,
        *,
        unit: str = "records",
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log, self.what, self.total, self.unit = log, what, total, unit
        self.interval, self.clock = interval, clock
        self.done = 0
        self.started = self._last = clock()

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-6)
        of = ""
        if self.total:
            of = f"/{self.total:,} ({100 * self.done / self.total:.0f}%)"
        return f"{self.what}: {self.done:,}{of} {self.unit}, {self.done / elapsed:,.1f}/s"

    def add(self, n: int) -> None:
        """Count ``n`` more done; log when the interval has passed or the total is reached."""
        self.done += n
        now = self.clock()
        finished = self.total is not None and self.done >= self.total
        if self.log and (finished or now - self._last >= self.interval):
            self._last = now
            self.log(self.line())

    def finish(self) -> None:
        """The final line, unless :meth:`add` just wrote it (the total was reached)."""
        if self.log and not (self.total is not None and self.done >= self.total):
            self.log(self.line())
