"""sfxero_dagster: keep Salesforce and Xero in sync with Dagster.

Layout (top-down data path): ``core`` is pure (no Dagster, no network), ``clients`` are thin I/O
wrappers, ``defs`` wires them into Dagster assets, checks and sensors, and ``definitions.py``
assembles everything. ``sandbox`` holds local emulators and is never imported by production code.
"""

__version__ = "0.1.0"
