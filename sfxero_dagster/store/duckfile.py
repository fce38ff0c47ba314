"""One DuckDB file shared by several processes: short transactions under an inter-process file lock.

DuckDB allows one writing process per file. The ledger and the warehouse therefore never keep a
connection open: each operation takes the lock, connects, runs one transaction and closes, so two runs
can wait for each other but never interleave or corrupt a write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from filelock import FileLock
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential


class LockedDuckDB:
    def __init__(self, path: str | Path, *, lock_timeout: float) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout)

    @retry(
        retry=retry_if_exception_type(duckdb.IOException),
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=0.05, max=2),
        reraise=True,
    )
    def _connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path))

    @contextmanager
    def _tx(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One short transaction under the inter-process lock."""
        with self._lock:
            con = self._connect()
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            finally:
                con.close()
