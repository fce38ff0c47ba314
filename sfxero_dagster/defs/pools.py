"""The pools, and what each one serialises (``dagster.yaml`` gives every pool one slot).

Dagster gives an op one pool, so a pool is named for the one thing it serialises:

- ``salesforce_api``: steps whose work is Salesforce calls (extracts, write-backs, reconciliation), so
  two runs never spend the org's API allocation at once;
- ``xero_api_<key>``: steps whose work is calls to one Xero organisation (its reference snapshot, its
  pushes), so organisations run side by side while each stays within 5 concurrent / 60 a minute;
- ``ledger_writer``: steps that write the ledger or the warehouse and call no API (staging, validation,
  matching, the push plan), so they queue in Dagster rather than on the file lock.

Every step that writes DuckDB is in one of them, but a pool does not make DuckDB writes safe: the store's
inter-process file lock (``core/duckfile.py``) does, one short transaction at a time, for every writer,
whatever its pool. An asset that calls Xero for every organisation from a Salesforce step (Xero ids'
online URLs, reconciliation's full read) runs in ``salesforce_api``; its Xero calls are paced by the
client's per-organisation governor and Xero's 429s, not by a pool.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

SALESFORCE_API = "salesforce_api"
LEDGER_WRITER = "ledger_writer"


def xero_api(tenant_key: str) -> str:
    return f"xero_api_{tenant_key}"


def expected_pool(key_path: Sequence[str], resource_keys: Collection[str]) -> str:
    """The pool this model gives an asset that writes the ledger or the warehouse.

    An organisation's own asset (``xero/<key>/...``) is in its Xero pool; one that calls Salesforce in
    ``salesforce_api``; one that calls no API in ``ledger_writer``.
    """
    if len(key_path) >= 3 and key_path[0] == "xero":
        return xero_api(key_path[1])
    if "salesforce" in resource_keys:
        return SALESFORCE_API
    if "xero" in resource_keys:
        raise ValueError(
            f"{'/'.join(key_path)}: a Xero asset outside xero/<tenant>/ has no pool in the model"
        )
    return LEDGER_WRITER
