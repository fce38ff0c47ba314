"""A movable clock shared by the emulators, so tests never sleep through real minutes."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Wall clock plus an offset that tests (or the control API) can move forward or set.

    ``frozen`` stops time entirely, which makes rate-limit windows and token expiry deterministic.
    """

    def __init__(self, offset_seconds: float = 0.0, frozen_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = offset_seconds
        self._frozen_at = frozen_at

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + timedelta(seconds=self._offset)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += timedelta(seconds=seconds)
            else:
                self._offset += seconds
        return self.now()

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("clock time must be timezone-aware")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = when.astimezone(UTC)
            else:
                self._offset = (when - datetime.now(UTC)).total_seconds()
        return self.now()

    def freeze(self) -> datetime:
        now = self.now()
        with self._lock:
            self._frozen_at = now
        return now

    def unfreeze(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = (self._frozen_at - datetime.now(UTC)).total_seconds()
                self._frozen_at = None
        return self.now()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def state(self) -> dict:
        return {"now": self.now().isoformat(), "frozen": self.frozen, "offset_seconds": self._offset}

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
