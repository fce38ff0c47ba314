"""The ledger's schema: numbered migrations, each applied in the same transaction as its version row."""

from __future__ import annotations

import duckdb

from sfxero_dagster.store.ledger.base import LedgerPart, _now

# ----- migrations -------------------------------------------------------------------------------------
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE links (
                tenant_id VARCHAR NOT NULL, sf_object VARCHAR NOT NULL, sf_id VARCHAR NOT NULL,
                xero_object VARCHAR NOT NULL, xero_id VARCHAR, xero_number VARCHAR, payload_hash VARCHAR,
                pushed_at TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (tenant_id, sf_object, sf_id, xero_object))""",
            "CREATE INDEX links_xero_id ON links (xero_id)",
            """CREATE TABLE intents (
                intent_id VARCHAR PRIMARY KEY, idempotency_key VARCHAR, run_id VARCHAR, tenant_id VARCHAR,
                target VARCHAR NOT NULL, sf_object VARCHAR, sf_id VARCHAR, xero_object VARCHAR,
                natural_key VARCHAR, payload_hash VARCHAR, state VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL,
                closed_at TIMESTAMPTZ, outcome VARCHAR)""",
            "CREATE INDEX intents_state ON intents (state)",
            "CREATE SEQUENCE events_seq",
            """CREATE TABLE events (
                event_id BIGINT PRIMARY KEY DEFAULT nextval('events_seq'), occurred_at TIMESTAMPTZ NOT NULL,
                run_id VARCHAR, stream VARCHAR, sf_object VARCHAR, sf_id VARCHAR, tenant_id VARCHAR,
                action VARCHAR NOT NULL, http_status INTEGER, error_code VARCHAR, message VARCHAR, context VARCHAR)""",
            "CREATE SEQUENCE review_seq",
            """CREATE TABLE review_queue (
                item_id BIGINT PRIMARY KEY DEFAULT nextval('review_seq'), sf_object VARCHAR NOT NULL,
                sf_id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL, reason_code VARCHAR NOT NULL,
                message VARCHAR, field VARCHAR, value VARCHAR, hint VARCHAR, payload VARCHAR,
                attempts INTEGER NOT NULL, state VARCHAR NOT NULL, note VARCHAR,
                first_seen TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL, resolved_at TIMESTAMPTZ,
                UNIQUE (sf_object, sf_id, tenant_id, reason_code))""",
            """CREATE TABLE watermarks (
                stream VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL, run_id VARCHAR)""",
        ],
    ),
    (
        2,
        [
            # Validation reports invoice problems per line; keep which line a queue item is about.
            "ALTER TABLE review_queue ADD COLUMN line_id VARCHAR",
            "ALTER TABLE events ADD COLUMN xero_id VARCHAR",
        ],
    ),
    (
        3,
        [
            # How a link came to be: 'created' (our push made the Xero record) or 'linked:<match rule>'.
            # A push may change a Xero contact it did not create only within what its origin allows.
            "ALTER TABLE links ADD COLUMN origin VARCHAR",
            """UPDATE links SET origin = CASE
                   WHEN xero_object <> 'Contacts' OR EXISTS (
                       SELECT 1 FROM intents i WHERE i.target = 'xero:Contacts:PUT' AND i.state = 'succeeded'
                           AND i.tenant_id = links.tenant_id AND i.sf_id = links.sf_id) THEN 'created'
                   ELSE 'linked' END""",
        ],
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


class Schema(LedgerPart):
    def schema_version(self) -> int:
        with self._tx() as con:
            return self._version(con)

    @staticmethod
    def _version(con: duckdb.DuckDBPyConnection) -> int:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ)"
        )
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self, target: int | None = None) -> int:
        """Apply pending migrations in order (each in the same transaction as its version row)."""
        target = SCHEMA_VERSION if target is None else target
        with self._tx() as con:
            current = self._version(con)
            for version, statements in MIGRATIONS:
                if current < version <= target:
                    for sql in statements:
                        con.execute(sql)
                    con.execute("INSERT INTO schema_version VALUES (?, ?)", [version, _now()])
                    current = version
            return current
