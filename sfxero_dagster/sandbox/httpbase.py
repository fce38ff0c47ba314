"""A small threaded HTTP(S) server and router shared by the emulators.

Built on the standard library on purpose: the emulators need byte-level control of the wire (exact
status lines and headers, plain-text 404 bodies, connections reset without a response), which
higher-level frameworks hide. Each emulator subclasses :class:`SandboxApp` and registers routes.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .clock import SandboxClock
from .faults import FaultInjector, FaultRule

log = logging.getLogger(__name__)


class DropConnection(Exception):
    """Raised by a handler (or fault) to reset the TCP connection without sending a response."""


@dataclass
class Request:
    method: str
    raw_path: str  # path as sent, still percent-encoded
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups from the route

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter, matched case-insensitively (clients differ in casing)."""
        for key, values in self.query.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"), parse_float=Decimal)

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        data = dumps_exact(obj).encode("utf-8")
        h = {"Content-Type": "application/json; charset=utf-8"}
        h.update(headers or {})
        return cls(status, data, h)

    @classmethod
    def text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        h = {"Content-Type": "text/plain; charset=utf-8"}
        h.update(headers or {})
        return cls(status, text.encode("utf-8"), h)

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> Response:
        return cls(status, b"", dict(headers or {}))


_DEC_MARK = "\x00D"
_DEC_RE = re.compile(r'"\\u0000D(-?[0-9.]+(?:E[-+]?[0-9]+)?)\\u0000"')


def _mark_decimals(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_DEC_MARK}{value}\x00"
    if isinstance(value, dict):
        return {k: _mark_decimals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark_decimals(v) for v in value]
    return value


def dumps_exact(obj: Any) -> str:
    """JSON with Decimals written digit for digit (``120.00`` stays ``120.00``, as the real APIs write it)."""
    text = json.dumps(_mark_decimals(obj), separators=(",", ":"))
    return _DEC_RE.sub(r"\1", text)


Handler = Callable[[Request], Response]


class Router:
    """Regex routes with named groups; paths match case-insensitively (xero-python sends /Connections)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(f"^{pattern}$", re.IGNORECASE), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn)
            return fn

        return deco

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """Return (handler, params, path_known). ``path_known`` tells 405 from 404."""
        path_known = False
        for m, rx, handler in self._routes:
            hit = rx.match(path)
            if not hit:
                continue
            path_known = True
            if m == method.upper():
                return handler, {k: v for k, v in hit.groupdict().items() if v is not None}, True
        return None, {}, path_known


class SandboxApp:
    """Base emulator: a router, a clock, fault injection and common control routes under /_sandbox/.

    Subclasses register their API routes and may override :meth:`before` (auth, rate limits) and
    :meth:`after` (limit headers) and :meth:`not_found`.
    """

    name = "sandbox"

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.faults = FaultInjector()
        self.router = Router()
        self.lock = threading.RLock()  # serialises state mutation across server threads
        self.request_log: list[dict[str, Any]] = []
        self.log_requests = True
        self._log_lock = threading.Lock()
        self._register_control_routes()

    # ----- hooks -------------------------------------------------------------------------------
    def before(self, req: Request) -> Response | None:  # pragma: no cover - overridden
        return None

    def after(self, req: Request, resp: Response) -> Response:
        return resp

    def not_found(self, req: Request) -> Response:
        return Response.text("The resource you're looking for cannot be found", 404)

    def fault_response(self, req: Request, rule: FaultRule) -> Response:
        body = rule.body
        if isinstance(body, str) or body is None:
            resp = Response.text(body or "", rule.status)
        else:
            resp = Response.json(body, rule.status)
        resp.headers.update(rule.headers)
        return resp

    # ----- dispatch ------------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        is_control = req.raw_path.lower().startswith("/_sandbox/")
        rule = None if is_control else self.faults.take(req.method, req.raw_path, req.headers)
        if rule is not None:
            if rule.action == "drop_before_commit":
                raise DropConnection()
            if rule.action == "status":
                return self.after(req, self.fault_response(req, rule))
        if not is_control:
            early = self.before(req)
            if early is not None:
                return self.after(req, early)
        if rule is not None and rule.action == "delay":
            time.sleep(rule.delay_seconds)  # a slow server: the request is admitted and in flight
        handler, params, known = self.router.match(req.method, urlsplit(req.raw_path).path)
        if handler is None:
            resp = Response.text("Method Not Allowed", 405) if known else self.not_found(req)
        else:
            req.params = {k: unquote(v) for k, v in params.items()}
            resp = handler(req)
        if rule is not None and rule.action == "drop_after_commit":
            raise DropConnection()
        return resp if is_control else self.after(req, resp)

    def record(self, req: Request, resp: Response | None) -> None:
        """Log API traffic (not control calls), so tests and benchmarks can count real API calls."""
        if not self.log_requests or req.raw_path.lower().startswith("/_sandbox/"):
            return
        with self._log_lock:
            self.request_log.append(
                {
                    "method": req.method,
                    "path": urlsplit(req.raw_path).path,
                    "status": resp.status if resp else None,
                    "at": self.clock.now().isoformat(),
                }
            )

    # ----- common control routes ----------------------------------------------------------------
    def _register_control_routes(self) -> None:
        r = self.router

        @r.route("GET", "/_sandbox/clock")
        def get_clock(req: Request) -> Response:
            return Response.json(self.clock.state())

        @r.route("POST", "/_sandbox/clock")
        def set_clock(req: Request) -> Response:
            from datetime import datetime

            body = req.json() or {}
            if "advance_seconds" in body:
                self.clock.advance(float(body["advance_seconds"]))
            if "set" in body:
                self.clock.set(datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00")))
            if body.get("freeze"):
                self.clock.freeze()
            if body.get("unfreeze"):
                self.clock.unfreeze()
            return Response.json(self.clock.state())

        @r.route("GET", "/_sandbox/faults")
        def list_faults(req: Request) -> Response:
            return Response.json({"rules": self.faults.rules(), "injected": self.faults.injected})

        @r.route("POST", "/_sandbox/faults")
        def add_faults(req: Request) -> Response:
            body = req.json() or {}
            rules = body.get("rules", [body] if "action" in body else [])
            try:
                added = [self.faults.add(dict(x)).to_dict() for x in rules]
            except (TypeError, ValueError) as exc:
                return Response.json({"error": str(exc)}, 400)
            return Response.json({"rules": added})

        @r.route("DELETE", "/_sandbox/faults")
        def clear_faults(req: Request) -> Response:
            self.faults.clear()
            return Response.json({"rules": []})

        @r.route("GET", "/_sandbox/requests")
        def get_requests(req: Request) -> Response:
            with self._log_lock:
                return Response.json({"requests": list(self.request_log)})

        @r.route("DELETE", "/_sandbox/requests")
        def clear_requests(req: Request) -> Response:
            with self._log_lock:
                self.request_log.clear()
            return Response.json({"requests": []})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfxero-sandbox"
    sys_version = ""
    # Headers and body leave in two writes; with Nagle's algorithm on, the body waited for the client's
    # delayed ACK of the headers: 40 ms added to every response on a kept-alive connection. (Found by the
    # soak: fetching 10,000 online-invoice URLs took 10 minutes at 25 % CPU.)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def _handle(self) -> None:
        app: SandboxApp = self.server.app  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            raw_path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
        )
        try:
            resp = app.dispatch(req)
        except DropConnection:
            app.record(req, None)
            self._reset()
            return
        except Exception as exc:  # a bug in an emulator must surface as a 500, not a hang
            log.exception("sandbox handler failed")
            resp = Response.json([{"message": f"sandbox internal error: {exc}", "errorCode": "UNKNOWN"}], 500)
        app.record(req, resp)
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if resp.status not in (204, 304):
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.body and resp.status not in (204, 304) and self.command != "HEAD":
            self.wfile.write(resp.body)

    def _reset(self) -> None:
        """Close with RST so the client sees a connection reset, never a partial response."""
        self.close_connection = True
        try:
            sock = self.connection
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class SandboxServer:
    """Serve a :class:`SandboxApp` on 127.0.0.1 in a background thread (TLS when given a context)."""

    def __init__(
        self,
        app: SandboxApp,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self._httpd = _Server((host, port), _Handler)
        self._httpd.app = app  # type: ignore[attr-defined]
        if ssl_context is not None:
            self._httpd.socket = ssl_context.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"{self.app.name}-server", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
