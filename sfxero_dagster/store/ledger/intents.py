"""Intents: a write recorded before it is sent, closed once by its outcome or by crash recovery."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from sfxero_dagster.store.ledger.base import _json, _now
from sfxero_dagster.store.ledger.links import Links
from sfxero_dagster.store.ledger.rows import Closure, Intent, IntentIn, Link, RecoveryReport


class Intents(Links):
    """Closing a succeeded intent writes its link in the same transaction, hence the links base."""

    def record_intents(self, intents: Iterable[IntentIn], now: datetime | None = None) -> list[str]:
        """Record pending writes before sending them; returns their ids in order."""
        rows = list(intents)
        if not rows:
            return []
        ts = _now(now)
        ids = [str(uuid.uuid4()) for _ in rows]
        df = pd.DataFrame(
            [
                {
                    "intent_id": i,
                    "idempotency_key": r.idempotency_key,
                    "run_id": r.run_id,
                    "tenant_id": r.tenant_id,
                    "target": r.target,
                    "sf_object": r.sf_object,
                    "sf_id": r.sf_id,
                    "xero_object": r.xero_object,
                    "natural_key": r.natural_key,
                    "payload_hash": r.payload_hash,
                    "state": "pending",
                    "created_at": ts,
                    "closed_at": pd.NaT,
                    "outcome": None,
                }
                for i, r in zip(ids, rows, strict=True)
            ]
        )
        with self._tx() as con:
            con.register("incoming_intents", df)
            con.execute(
                """INSERT INTO intents SELECT intent_id, idempotency_key, run_id, tenant_id, target, sf_object,
                       sf_id, xero_object, natural_key, payload_hash, state, created_at,
                       CAST(closed_at AS TIMESTAMPTZ), outcome FROM incoming_intents"""
            )
            con.unregister("incoming_intents")
        return ids

    def close_intents(self, closures: Iterable[Closure], now: datetime | None = None) -> list[str]:
        """Close pending intents; a succeeded one writes its link in the same transaction.

        Returns the ids actually closed. An intent that is no longer pending is left alone, so the same
        outcome can never be applied twice (for example by a retried run and a recovery pass).
        """
        wanted = {c.intent_id: c for c in closures}
        if not wanted:
            return []
        ts = _now(now)
        with self._tx() as con:
            con.register("wanted", pd.DataFrame({"intent_id": list(wanted)}))
            pending = con.execute(
                """SELECT i.intent_id, tenant_id, sf_object, sf_id, xero_object, natural_key, payload_hash, target
                   FROM intents i JOIN wanted USING (intent_id) WHERE i.state = 'pending'"""
            ).fetchall()
            con.unregister("wanted")
            if not pending:
                return []
            updates = pd.DataFrame(
                [
                    {"intent_id": p[0], "state": wanted[p[0]].state, "outcome": _json(wanted[p[0]].outcome)}
                    for p in pending
                ]
            )
            con.register("updates", updates)
            con.execute(
                """UPDATE intents SET state = updates.state, outcome = updates.outcome, closed_at = ?
                   FROM updates WHERE intents.intent_id = updates.intent_id AND intents.state = 'pending'""",
                [ts],
            )
            con.unregister("updates")
            links = [
                Link(
                    p[1],
                    p[2],
                    p[3],
                    p[4],
                    wanted[p[0]].xero_id,
                    wanted[p[0]].xero_number or p[5],
                    p[6],
                    ts,
                    "created" if p[7].endswith(":PUT") else None,
                )
                for p in pending
                if wanted[p[0]].state == "succeeded"
            ]
            if links:
                self._upsert_links(con, links, ts)
        return [p[0] for p in pending]

    def close_intent(self, closure: Closure, now: datetime | None = None) -> bool:
        return bool(self.close_intents([closure], now))

    def pending_intents(self, tenant_id: str | None = None, target: str | None = None) -> list[Intent]:
        where, params = self._where(tenant_id=tenant_id, target=target)
        where = f"{where} AND state = 'pending'" if where else "WHERE state = 'pending'"
        return self._intents(where, params)

    def get_intent(self, intent_id: str) -> Intent | None:
        found = self._intents("WHERE intent_id = ?", [intent_id])
        return found[0] if found else None

    def _intents(self, where: str, params: list[Any]) -> list[Intent]:
        with self._tx() as con:
            rows = con.execute(
                f"""SELECT intent_id, target, tenant_id, sf_object, sf_id, xero_object, natural_key, payload_hash,
                       idempotency_key, run_id, state, created_at, closed_at, outcome
                    FROM intents {where} ORDER BY created_at, intent_id""",
                params,
            ).fetchall()
        return [Intent(*r[:-1], json.loads(r[-1]) if r[-1] else None) for r in rows]

    def recover_pending(
        self,
        resolver: Callable[[Intent], tuple[str, str | None] | None],
        *,
        tenant_id: str | None = None,
        target: str | None = None,
        now: datetime | None = None,
    ) -> RecoveryReport:
        """Resolve writes a crash left pending, before anything is resent.

        ``resolver(intent)`` looks the record up in the target system by its natural key and returns
        ``(xero_id, xero_number)`` when it exists (the write had committed: link it) or ``None`` (it
        never happened: abandon the intent so the record is sent again under a new intent).
        """
        report = RecoveryReport()
        closures = []
        for intent in self.pending_intents(tenant_id=tenant_id, target=target):
            found = resolver(intent)
            if found is not None:
                closures.append(
                    Closure(intent.intent_id, "succeeded", {"recovered": True}, found[0], found[1])
                )
            else:
                closures.append(Closure(intent.intent_id, "abandoned", {"recovered": True, "found": False}))
        closed = set(self.close_intents(closures, now))
        for c in closures:
            if c.intent_id in closed:
                (report.linked if c.state == "succeeded" else report.abandoned).append(c.intent_id)
        return report
