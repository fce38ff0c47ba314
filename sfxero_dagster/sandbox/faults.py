"""Fault injection by rule: answer with a status, delay, or drop the connection before/after commit.

A rule matches requests by method, path regex and (optionally) a header value, and fires for the next
``times`` matching requests. ``drop_after_commit`` runs the handler (the write is committed) and then
resets the connection without a response: the case that makes idempotency necessary.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultAction = Literal["status", "delay", "drop_before_commit", "drop_after_commit"]
ACTIONS: tuple[str, ...] = ("status", "delay", "drop_before_commit", "drop_after_commit")


@dataclass
class FaultRule:
    action: FaultAction
    methods: list[str] | None = None  # None matches every method
    path_regex: str | None = None  # searched (re.search) in the request path, case-insensitive
    header: dict[str, str] | None = None  # header name -> exact value that must match
    times: int = 1  # how many matching requests fire; -1 = unlimited
    skip: int = 0  # let this many matching requests through first
    status: int = 503
    body: Any = None  # JSON-able body, or str for text
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    fired: int = 0

    def __post_init__(self) -> None:
        # Rules arrive as JSON (numbers may be Decimal): normalise the types once, here.
        self.status, self.times, self.skip = int(self.status), int(self.times), int(self.skip)
        self.delay_seconds = float(self.delay_seconds)
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; allowed: {', '.join(ACTIONS)}")
        if self.methods:
            self.methods = [m.upper() for m in self.methods]
        self._rx = re.compile(self.path_regex, re.IGNORECASE) if self.path_regex else None

    def matches(self, method: str, path: str, headers: Any) -> bool:
        if self.methods and method.upper() not in self.methods:
            return False
        if self._rx and not self._rx.search(path):
            return False
        if self.header:
            for name, value in self.header.items():
                if (headers.get(name) or "") != value:
                    return False
        return True

    @property
    def exhausted(self) -> bool:
        return self.times != -1 and self.fired >= self.times

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("_rx", None)
        return d


class FaultInjector:
    """Thread-safe list of rules; ``take`` consumes one firing of the first matching live rule."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def add(self, rule: FaultRule | dict) -> FaultRule:
        if isinstance(rule, dict):
            rule = FaultRule(**{k: v for k, v in rule.items() if k != "fired"})
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict]:
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def take(self, method: str, path: str, headers: Any) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.exhausted or not rule.matches(method, path, headers):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                rule.fired += 1
                key = rule.action if rule.action != "status" else f"status_{rule.status}"
                self.injected[key] = self.injected.get(key, 0) + 1
                return rule
            return None
