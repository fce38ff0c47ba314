"""The DuckDB warehouse: raw Salesforce extracts, Xero reference snapshots, staging and match tables.

Assets write their tables here themselves (as the Dagster Open Platform does with Snowflake) rather
than through an IO manager, because an extract *merges* a delta into what earlier runs read: the
latest version of each record (by ``SystemModstamp``) wins, whatever order partitions run in.

DuckDB allows one writing process per file, so every access is a short transaction under an
inter-process file lock (``store.duckfile``, shared with the ledger); two runs can never interleave writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sfxero_dagster.store.duckfile import LockedDuckDB


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {name!r}")
    return f'"{name}"'


def _exists(con, table: str) -> bool:
    sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
    return bool(con.execute(sql, [table]).fetchone()[0])


class Warehouse(LockedDuckDB):
    def __init__(self, path: str | Path, *, lock_timeout: float = 300.0) -> None:
        super().__init__(path, lock_timeout=lock_timeout)

    tx = LockedDuckDB._tx  # public here: assets run their own SQL in one short locked transaction

    # ----- reads -------------------------------------------------------------------------------
    def has(self, table: str) -> bool:
        with self.tx() as con:
            return _exists(con, table)

    def read(self, table: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The whole table, or an empty frame (with ``columns``) when it does not exist yet."""
        with self.tx() as con:
            if not _exists(con, table):
                return pd.DataFrame(columns=list(columns or []))
            return con.execute(f"SELECT * FROM {_ident(table)}").df()

    def query(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        with self.tx() as con:
            return con.execute(sql, list(params)).df()

    # ----- writes ------------------------------------------------------------------------------
    def replace(self, table: str, df: pd.DataFrame) -> int:
        """Replace ``table`` with ``df`` atomically (readers see the old or the new table, never half)."""
        with self.tx() as con:
            con.register("incoming", df)
            con.execute(f"CREATE OR REPLACE TABLE {_ident(table)} AS SELECT * FROM incoming")
            con.unregister("incoming")
        return len(df)

    def replace_where(self, table: str, df: pd.DataFrame, column: str, value: str) -> int:
        """Replace the rows where ``column = value`` (one tenant's snapshot) in one transaction."""
        t = _ident(table)
        with self.tx() as con:
            con.register("incoming", df)
            if not _exists(con, table):
                con.execute(f"CREATE TABLE {t} AS SELECT * FROM incoming")
            else:
                con.execute(f'DELETE FROM {t} WHERE "{column}" = ?', [value])
                cols = ", ".join(f'"{c}"' for c in df.columns)
                con.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM incoming")
            con.unregister("incoming")
        return len(df)

    def merge(self, table: str, df: pd.DataFrame, key: str = "Id", version: str = "SystemModstamp") -> dict:
        """Upsert rows by ``key``; a row replaces the stored one only if its ``version`` is not older.

        Returns counts: ``new`` (key not seen before), ``changed`` (newer version), ``unchanged``.
        New columns in ``df`` are added to the table; stored rows keep null there.
        """
        if df.empty:
            return {"new": 0, "changed": 0, "unchanged": 0}
        df = df.drop_duplicates(key, keep="last")
        t = _ident(table)
        with self.tx() as con:
            con.register("incoming", df)
            if not _exists(con, table):
                con.execute(f"CREATE TABLE {t} AS SELECT * FROM incoming")
                con.unregister("incoming")
                return {"new": len(df), "changed": 0, "unchanged": 0}
            have = {r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()}
            incoming_types = {r[0]: r[1] for r in con.execute("DESCRIBE incoming").fetchall()}
            for col in df.columns:
                if col not in have:
                    con.execute(f'ALTER TABLE {t} ADD COLUMN "{col}" {incoming_types[col]}')
            k, v = f'"{key}"', f'"{version}"'
            counts = con.execute(
                f"""SELECT
                        count(*) FILTER (WHERE s.{k} IS NULL),
                        count(*) FILTER (WHERE s.{k} IS NOT NULL AND i.{v} > s.{v}),
                        count(*) FILTER (WHERE s.{k} IS NOT NULL AND NOT (i.{v} > s.{v}))
                    FROM incoming i LEFT JOIN {t} s ON s.{k} = i.{k}"""
            ).fetchone()
            con.execute(
                f"""DELETE FROM {t} WHERE {k} IN (
                        SELECT i.{k} FROM incoming i JOIN {t} s ON s.{k} = i.{k} WHERE i.{v} >= s.{v})"""
            )
            cols = ", ".join(f'"{c}"' for c in df.columns)
            con.execute(
                f"""INSERT INTO {t} ({cols}) SELECT {cols} FROM incoming i
                    WHERE NOT EXISTS (SELECT 1 FROM {t} s WHERE s.{k} = i.{k})"""
            )
            con.unregister("incoming")
        return {"new": int(counts[0]), "changed": int(counts[1]), "unchanged": int(counts[2])}
