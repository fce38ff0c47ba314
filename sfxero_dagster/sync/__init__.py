"""The sync engines: what moves data between Salesforce, the store and Xero, without Dagster.

Each engine takes plain values (the parsed config, a tenant, clients, the ledger and the warehouse, a
run id and a logger callable) and returns plain values; the assets in ``defs`` read their inputs, call
one engine and turn its result into a ``MaterializeResult``. I/O goes through the clients and the store
only, so an engine runs the same from an asset, the CLI, a benchmark or a test.
"""
