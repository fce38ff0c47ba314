"""Idempotency-Key: a repeated key with the same request within 6 minutes replays the first answer.

One stored record per tenant and key (one blob rewritten per request grew with every response kept
and made each write slower than the one before). A 429 is not kept, so a retry after it is applied.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading

from ..clock import SandboxClock
from ..httpbase import Handler, Request, Response
from ..store import RecordStore
from .errors import bad_request
from .settings import XeroSandboxSettings
from .wire import ms_from_datetime

IDEMPOTENCY = "_idempotency"  # store kind: one replayable response per tenant and Idempotency-Key


class IdempotencyCache:
    def __init__(
        self, settings: XeroSandboxSettings, store: RecordStore, lock: threading.RLock, clock: SandboxClock
    ) -> None:
        self.settings = settings
        self.store = store
        self.lock = lock
        self.clock = clock

    def wrap(self, handler: Handler) -> Handler:
        """Replay the first response for a repeated Idempotency-Key (same request) within 6 minutes."""

        def wrapped(req: Request) -> Response:
            key = req.header("Idempotency-Key")
            if not key:
                return handler(req)
            if len(key) > 128:
                return bad_request("Idempotency-Key must be 128 characters or fewer")
            tid = getattr(req, "tenant_id", "")
            fingerprint = hashlib.sha256(
                req.method.encode()
                + req.raw_path.lower().encode()
                + json.dumps(sorted(req.query.items())).encode()
                + req.body
            ).hexdigest()
            now = ms_from_datetime(self.clock.now())
            with self.lock:
                for k, v in self.store.items(IDEMPOTENCY):
                    if now - v["at"] >= self.settings.idempotency_ttl * 1000:
                        self.store.delete(IDEMPOTENCY, k)
                hit = self.store.get(IDEMPOTENCY, f"{tid}:{key}")
                if hit is not None:
                    if hit["fingerprint"] != fingerprint:
                        # Second-hand (xero-api.md §2.4): a reused key with a different request is a 400.
                        return bad_request(
                            "The Idempotency-Key has already been used with a different request"
                        )
                    return Response(hit["status"], base64.b64decode(hit["body"]), dict(hit["headers"]))
                resp = handler(req)
                if resp.status != 429:
                    self.store.put(
                        IDEMPOTENCY,
                        f"{tid}:{key}",
                        {
                            "fingerprint": fingerprint,
                            "at": now,
                            "status": resp.status,
                            "body": base64.b64encode(resp.body).decode(),
                            "headers": resp.headers,
                        },
                    )
                return resp

        return wrapped
