"""The Salesforce org's state and rules, one module per resource (records, collections, query, describe,
Bulk 2.0), on top of :mod:`.org` (the store, the clock, ids and auto-numbers they share).

Each backend class holds its resource's rules and the request handlers of its endpoints; the route
table (``../routes.py``) maps method and path to those handlers. Backends never import the app.
"""
