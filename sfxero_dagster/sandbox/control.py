"""Python client for the emulators' ``/_sandbox/`` control API (used by tests, demo and benchmarks)."""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    def __init__(self, base_url: str, verify: bool | str = True, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False  # a CI's REQUESTS_CA_BUNDLE must not override ``verify``
        self.session.verify = verify
        self.timeout = timeout

    def call(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.session.request(
            method, f"{self.base_url}/_sandbox/{path.lstrip('/')}", timeout=self.timeout, **kw
        )
        if resp.status_code >= 400:
            raise RuntimeError(f"sandbox control {method} {path} -> {resp.status_code}: {resp.text[:500]}")
        return resp.json() if resp.content else None

    def clock(self) -> dict:
        return self.call("GET", "clock")

    def advance(self, seconds: float) -> dict:
        return self.call("POST", "clock", json={"advance_seconds": seconds})

    def set_clock(self, iso: str) -> dict:
        return self.call("POST", "clock", json={"set": iso})

    def freeze(self) -> dict:
        return self.call("POST", "clock", json={"freeze": True})

    def add_fault(self, **rule: Any) -> dict:
        return self.call("POST", "faults", json=rule)

    def clear_faults(self) -> dict:
        return self.call("DELETE", "faults")

    def faults(self) -> dict:
        return self.call("GET", "faults")

    def requests_log(self) -> list[dict]:
        return self.call("GET", "requests")["requests"]

    def clear_requests(self) -> None:
        self.call("DELETE", "requests")
