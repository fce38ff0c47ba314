"""The org every resource shares: the record store, schema, clock and lock, the integration user,
record ids and auto-numbers, seed loading and reset (and the control routes that reset or seed it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ...clock import SandboxClock
from ...httpbase import Request, Response
from ...store import RecordStore
from ..ids import make_id, normalise_id
from ..schema import FieldDef, ObjectDef, Schema
from ..soql import SF_DATETIME


@dataclass
class SalesforceSandboxSettings:
    daily_api_limit: int = 100_000
    session_idle_seconds: int = 7200
    username: str = "integration@sfxero.sandbox"
    password: str = "sandbox-password-not-real"
    security_token: str = "sandboxtoken"
    consumer_key: str = "SANDBOX_CONSUMER_KEY"
    consumer_secret: str = "sandbox-consumer-secret-not-real"
    org_id: str = "00D5g000000SFXERO"


class Org:
    """State shared by every resource backend. Also the SOQL record source (``schema``, ``records``,
    ``get``). ``lock`` is the app's lock: every mutation across server threads holds it."""

    def __init__(
        self,
        schema: Schema,
        store: RecordStore,
        clock: SandboxClock,
        lock: threading.RLock,
        settings: SalesforceSandboxSettings,
        state_dir: Path | None = None,
    ) -> None:
        self.schema = schema
        self.store = store
        self.clock = clock
        self.lock = lock
        self.settings = settings
        self.state_dir = state_dir
        self.instance_url = "https://127.0.0.1"
        self.on_reset: list[Callable[[], None]] = []  # backends' in-memory state to drop with the org's
        if not self.is_empty():
            with self.store.transaction():
                self.sync_auto_numbers()  # state written before counters were kept, or by hand

    # ------------------------------------------------------------------------------ time and lookup
    def now(self) -> datetime:
        return self.clock.now()

    def stamp(self) -> str:
        return self.now().strftime(SF_DATETIME)

    def obj(self, name: str) -> ObjectDef | None:
        return self.schema.get(name)

    def records(self, object_name: str) -> list[dict]:
        return self.store.all(object_name)

    def get(self, object_name: str, record_id: str) -> dict | None:
        return self.store.get(object_name, normalise_id(record_id)) if record_id else None

    def match_external(self, obj: ObjectDef, ref: dict) -> list[dict]:
        """Live records of ``obj`` whose field (the one key of ``ref``) holds the value."""
        ((key, value),) = list(ref.items())[:1] or [("", "")]
        f = obj.field(key)
        if f is None:
            return []
        return [r for r in self.store.find(obj.name, f.name, value) if not r.get("IsDeleted")]

    # ------------------------------------------------------------------------------ lifecycle
    def is_empty(self) -> bool:
        return not self.store.get_meta("org")

    def reset(self) -> None:
        with self.lock:
            self.store.clear()
            for forget in self.on_reset:
                forget()
            self.ensure()

    def ensure(self) -> None:
        """Create the org (its integration user and id counters) when the store has none."""
        if self.store.get_meta("org"):
            return
        user_id = make_id("005", 1)
        now = self.stamp()
        self.store.put(
            "User",
            user_id,
            {
                "Id": user_id,
                "Username": self.settings.username,
                "LastName": "Integration",
                "FirstName": "Sync",
                "Name": "Sync Integration",
                "Email": "integration@sfxero.sandbox",
                "IsActive": True,
                "IsDeleted": False,
                "CreatedDate": now,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "CreatedById": user_id,
                "LastModifiedById": user_id,
            },
        )
        self.store.set_meta("org", {"user_id": user_id, "seq": {"User": 1}})

    @property
    def user_id(self) -> str:
        self.ensure()
        return self.store.get_meta("org")["user_id"]

    def load_seed(self, records_by_object: dict[str, list[dict]]) -> dict[str, int]:
        """Load records as they are (ids, system fields and all), e.g. the seed generator's output."""
        self.ensure()
        counts = {}
        with self.lock:
            org = self.store.get_meta("org")
            for obj_name, rows in records_by_object.items():
                obj = self.schema.get(obj_name)
                if obj is None:
                    raise ValueError(f"unknown object {obj_name!r} in seed")
                now = self.stamp()
                prepared = []
                for row in rows:
                    rec = {
                        "IsDeleted": False,
                        "CreatedDate": now,
                        "LastModifiedDate": now,
                        "SystemModstamp": now,
                        "CreatedById": self.user_id,
                        "LastModifiedById": self.user_id,
                        **row,
                    }
                    prepared.append((rec["Id"], rec))
                self.store.put_many(obj.name, prepared)
                org["seq"][obj.name] = max(org["seq"].get(obj.name, 0), len(self.store.all(obj.name)) + 1000)
                counts[obj.name] = len(prepared)
            self.store.set_meta("org", org)
            self.sync_auto_numbers()
        return counts

    # ------------------------------------------------------------------------------ ids and numbers
    def next_id(self, obj: ObjectDef) -> str:
        org = self.store.get_meta("org")
        seq = org["seq"].get(obj.name, 0) + 1
        org["seq"][obj.name] = seq
        self.store.set_meta("org", org)
        rid = make_id(obj.key_prefix, seq)
        while self.store.get(obj.name, rid) is not None:
            seq += 1
            rid = make_id(obj.key_prefix, seq)
            org["seq"][obj.name] = seq
            self.store.set_meta("org", org)
        return rid

    @staticmethod
    def auto_number_fields(obj: ObjectDef) -> list[FieldDef]:
        return [f for f in obj.fields.values() if f.auto_number is not None]

    def sync_auto_numbers(self) -> None:
        """Move every auto-number counter past the highest number a stored record holds.

        Salesforce's counter only ever grows: "Autonumbers are always incremental but from time to time
        will not be sequential" (Salesforce Knowledge Article 000006447: a create that fails keeps the
        number it drew), so neither a delete nor a rollback hands a number out again. Records loaded as
        they are (the seed, a data migration) hold issued numbers, deleted ones included, so the next
        new record gets a higher one.
        """
        counters = dict(self.store.get_meta("autonumber", {}))
        for obj in self.schema.objects.values():
            for f in self.auto_number_fields(obj):
                key = f"{obj.name}.{f.name}"
                held = (f.parse_auto_number(r.get(f.name)) for r in self.store.all(obj.name))
                highest = max((n for n in held if n is not None), default=f.auto_number_start - 1)
                counters[key] = max(counters.get(key, f.auto_number_start), highest + 1)
        self.store.set_meta("autonumber", counters)

    def issue_auto_number(self, obj: ObjectDef, f: FieldDef) -> str:
        """The next number for ``obj.f``, drawn for good (kept outside ``org``, so an all-or-none
        rollback, which restores ``org``, does not hand it out again)."""
        key = f"{obj.name}.{f.name}"
        if key not in self.store.get_meta("autonumber", {}):
            self.sync_auto_numbers()
        counters = dict(self.store.get_meta("autonumber"))
        n = counters[key]
        counters[key] = n + 1
        self.store.set_meta("autonumber", counters)
        return f.format_auto_number(n)

    # ------------------------------------------------------------------------------ control routes
    def ctl_reset(self, req: Request) -> Response:
        self.reset()
        return Response.json({"reset": True})

    def ctl_seed(self, req: Request) -> Response:
        body: dict[str, Any] = req.json() or {}
        self.reset()
        if "records" in body:
            counts = self.load_seed(body["records"])
        else:
            from ...seed import generate  # the seed generator is large; load it only when asked

            counts = self.load_seed(generate(body.get("scale", "small"), int(body.get("seed", 7))).salesforce)
        return Response.json({"counts": counts})

    def ctl_state(self, req: Request) -> Response:
        return Response.json({"counts": {k: self.store.count(k) for k in self.store.kinds()}})
