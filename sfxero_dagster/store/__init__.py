"""Durable state on local disk: the sync ledger, the DuckDB warehouse and the locked file they share.

Not pure core (they do file I/O) and not Dagster: assets, engines (``sync``) and the CLI open them.
"""
