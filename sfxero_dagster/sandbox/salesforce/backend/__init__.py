"""The Salesforce org's state and rules, one module per resource (``records``, ``collections``,
``query``, ``describe``, ``bulk2``) on top of ``org`` (store, clock, user, ids and auto-numbers they
share) and ``fields`` (the field rules of every write).

Each backend class holds its resource's rules and the request handlers of its endpoints; the route table
(``../routes.py``) maps method and path to those handlers. Backends never import the app.
"""
