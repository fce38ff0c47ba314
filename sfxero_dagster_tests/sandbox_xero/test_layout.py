"""The Xero emulator keeps the shape that makes an endpoint a three-place change (see the package
docstring): the route table, one backend module, its tests."""

from __future__ import annotations

import inspect
from functools import partial

from sfxero_dagster.sandbox.httpbase import Response
from sfxero_dagster.sandbox.xero.app import XeroApp
from sfxero_dagster.sandbox.xero.routes import api_routes

BACKEND_PREFIX = "sfxero_dagster.sandbox.xero.backend."


def _owner(handler: object) -> object:
    while isinstance(handler, partial):
        handler = handler.func
    return getattr(handler, "__self__", None)


def _handler_names(obj: object) -> set[str]:
    """Methods taking the request and answering with a Response: the endpoints an object serves."""
    out = set()
    for name, fn in inspect.getmembers(type(obj), inspect.isfunction):
        params = list(inspect.signature(fn).parameters)
        answers = fn.__annotations__.get("return") in ("Response", Response)
        if not name.startswith("_") and params[1:2] == ["req"] and answers:
            out.add(name)
    return out


def test_every_route_is_served_by_the_backend_of_its_resource_and_every_handler_is_routed() -> None:
    app = XeroApp()
    routes = api_routes(app.backends, app.auth)
    routed: dict[int, set[str]] = {}
    for route in routes:
        owner = _owner(route.handler)
        assert owner is not None, route
        module = type(owner).__module__
        assert owner is app.auth or module.startswith(BACKEND_PREFIX), (route.pattern, module)
        fn = route.handler.func if isinstance(route.handler, partial) else route.handler
        routed.setdefault(id(owner), set()).add(fn.__name__)
    backends = [getattr(app.backends, f) for f in app.backends.__dataclass_fields__]
    for owner in [*backends, app.auth]:
        assert _handler_names(owner) == routed.get(id(owner), set()), type(owner).__name__
    assert len({(r.method, r.pattern.lower()) for r in routes}) == len(routes)  # no route twice
