"""Salesforce REST and Bulk 2.0 emulator (served over TLS for simple-salesforce), split the way moto
splits a service:

- ``app.py``: :class:`SalesforceApp`, a thin composition (org + backends + route table) and the Python
  face used by the seed, demo, benchmarks and tests.
- ``routes.py``: the route table, method + path pattern -> the handler of one backend.
- ``backend/``: one module per resource holding its state, rules and request handlers: ``org`` (store,
  user, ids, auto-numbers, seed, reset), ``fields`` (field rules of a write), ``records`` (the write path
  and one-record endpoints), ``collections``, ``query``, ``describe``, ``bulk2``.
- ``auth.py`` (OAuth, SOAP login, sessions), ``limits.py`` (daily API count, ``Sforce-Limit-Info``),
  ``actor.py`` (what a user does in the UI), ``errors.py`` (every error body), ``render.py`` (request
  parsing and response rendering), and ``schema``/``soql``/``ids`` (objects and fields, SOQL, record ids).

A new endpoint goes in three places: a row in ``routes.py``, a handler (and its rules) in the one backend
module that owns the resource, and its tests in ``sfxero_dagster_tests/sandbox_salesforce/``. Backends
import ``org``, ``errors`` and ``render``, never the app; ``sandbox_kernel/test_import_graph_salesforce.py``
keeps the modules free of import circles and under ~500 lines.
"""
