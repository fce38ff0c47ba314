"""What every resource backend shares: the record store, the app's lock, the clock and the renderer.

State lives in the one :class:`RecordStore` (kinds ``<tenant>/<Resource>``, organisation settings in
meta ``org:<tenant>``), so a backend is the rules of one resource over that store, not a copy of it.
"""

from __future__ import annotations

import threading

from ...clock import SandboxClock
from ...httpbase import Request, Response
from ...store import RecordStore
from ..render import Renderer
from ..wire import ms_from_datetime


class Backend:
    def __init__(
        self, store: RecordStore, lock: threading.RLock, clock: SandboxClock, render: Renderer
    ) -> None:
        self.store = store
        self.lock = lock  # the app's lock: serialises every change across server threads
        self.clock = clock
        self.render = render

    def now_ms(self) -> int:
        return ms_from_datetime(self.clock.now())

    def today(self) -> str:
        return self.clock.now().date().isoformat()

    def _paged_list(self, req: Request, kind: str, key: str) -> Response:
        """GET of a paged collection: every ``kind`` of the tenant, oldest change first."""
        records = self.store.all(f"{req.tenant_id}/{kind}")  # type: ignore[attr-defined]
        return self.render.listing(req, records, key, paged=True, order="UpdatedDateUTC ASC")
