"""Xero Accounting API emulator (tokens, connections, organisation settings, contacts, items, invoices,
credit notes, payments, allocations), with Xero's arithmetic, validation, paging and rate limits.

Laid out as moto lays out a service:

- ``app.py``: :class:`~.app.XeroApp`, the composition (lifecycle, request hooks, ``/_sandbox`` controls).
- ``routes.py``: the route table, method + path pattern -> handler; idempotent writes are marked there.
- ``backend/``: one module per resource, holding its rules and its endpoint handlers over the shared
  record store: ``organisation`` (tenants and settings), ``items``, ``contacts``, ``documents``
  (invoices and credit notes), ``payments``, ``allocations`` (credit notes, overpayments, prepayments).
- ``auth.py`` (OAuth, bearer tokens, connections), ``limits.py`` (rate limits), ``idempotency.py``.
- ``render.py`` (request parsing, envelopes, summarizeErrors, reads' where/order/paging),
  ``errors.py`` (every request-level error answer), ``wire.py`` (JSON dates), ``model.py`` (arithmetic),
  ``where.py`` (the where-clause language), ``presets.py`` (regional tax rates and accounts).
- ``actor.py``: what a user does in the Xero UI (pay, void, credit...), through the same rules.

Adding an endpoint touches three places: one line in ``routes.py``; the handler and its rules in the
backend module of the resource it serves (a new resource gets a new module there, built in
``backend/__init__.py``); and its tests in ``sfxero_dagster_tests/sandbox_xero/``.
``test_layout.py`` there checks that every route is served by a backend (or auth) and that every
handler a backend defines is routed; ``sandbox_kernel/test_import_graph_xero.py`` that no import
circle runs through these modules and that none grows past ~500 lines without saying why.
"""
