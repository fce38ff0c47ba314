"""The soak's fault schedules: which faults exist, where each can be aimed, and seeded random draws of
them (``bench/soak.py`` drives them)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

# Client timeouts while schedules run (a timeout fault waits longer): above the slowest request of a
# schedule's small delta on a loaded machine, short enough that a timeout fault costs seconds. Preparing
# (bulk jobs the sandbox runs inside one request) keeps the shipped defaults.
XERO_TIMEOUT, SF_TIMEOUT = 3.0, 10.0
# Where a fault can be aimed: (methods, path regex) per endpoint, searched in the request path.
TARGETS: dict[str, tuple[list[str], str]] = {
    "xero:PUT Contacts": (["PUT"], r"/Contacts$"),
    "xero:POST Contacts": (["POST"], r"/Contacts$"),
    "xero:PUT Invoices": (["PUT"], r"/Invoices$"),
    "xero:POST Invoices": (["POST"], r"/Invoices$"),
    "xero:PUT CreditNotes": (["PUT"], r"/CreditNotes$"),
    "xero:PUT Allocations": (["PUT"], r"/Allocations$"),
    "xero:GET Invoices": (["GET"], r"/Invoices$"),
    "xero:GET OnlineInvoice": (["GET"], r"/OnlineInvoice$"),
    "xero:POST token": (["POST"], r"^/connect/token$"),
    "sf:PATCH collections": (["PATCH"], r"/composite/sobjects"),
    "sf:GET query": (["GET"], r"/query"),
    "sf:POST login": (["POST"], r"/oauth2/token$"),
}
KINDS = (
    "xero_429_minute",
    "xero_429_day",
    "xero_5xx",
    "xero_drop_before_commit",
    "xero_drop_after_commit",
    "xero_timeout",
    "xero_token_expiry",
    "sf_5xx",
    "sf_drop_before_commit",
    "sf_drop_after_commit",
    "sf_timeout",
    "sf_session_expiry",
)
ALL_KINDS = (*KINDS, "sigkill")


# ----- schedules --------------------------------------------------------------------------------------
@dataclass
class Fault:
    kind: str
    target: str = ""
    skip: int = 0
    times: int = 1
    status: int = 0
    variant: str = ""  # xero_token_expiry: "start" (the stored token is stale) or "rule" (401 mid-run)
    at_request: int = 0  # sf_session_expiry: sessions expire once Salesforce has served this many
    fired: int = 0


@dataclass
class Schedule:
    index: int
    faults: list[Fault]
    sigkill: dict[str, Any] | None = None  # {"at_request": n} or {"hold": target, "skip": n}
    mutate: bool = False


def _side(kind_or_target: str) -> str:
    return "sf" if kind_or_target.startswith("sf") else "xero"


def make_schedules(n: int, seed: int, profile: dict[str, int]) -> list[Schedule]:
    """``n`` schedules from ``seed``; each fault aimed at an endpoint the baseline run called."""
    out = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        faults = []
        for kind in rng.sample(KINDS, rng.choice((1, 1, 2, 2, 3, 4))):
            if kind == "sf_session_expiry":
                faults.append(Fault(kind, at_request=rng.randint(1, max(1, profile["sf:all"]))))
                continue
            if kind == "xero_token_expiry" and rng.random() < 0.5:
                faults.append(Fault(kind, variant="start"))
                continue
            side = _side(kind)
            choices = [t for t in TARGETS if t.startswith(f"{side}:") and profile.get(t)]
            if kind.startswith(("xero_429", "xero_token")):  # the API's answers, not the token endpoint's
                choices = [t for t in choices if t != "xero:POST token"]
            target = rng.choice(sorted(choices))
            times = rng.choice((1, 1, 2, 3)) if kind.endswith(("5xx", "minute")) else rng.choice((1, 1, 2))
            if kind.endswith(("timeout", "day", "expiry")):
                times = 1
            faults.append(
                Fault(
                    kind,
                    target,
                    skip=rng.randrange(max(1, profile[target])),
                    times=times,
                    status=rng.choice((500, 502, 503, 504)) if kind.endswith("5xx") else 0,
                    variant="rule" if kind == "xero_token_expiry" else "",
                )
            )
        sigkill = None
        if rng.random() < 0.12:
            writes = [
                t for t in ("xero:PUT Invoices", "xero:PUT Contacts", "xero:POST Invoices") if profile.get(t)
            ]
            if writes and rng.random() < 0.5:
                hold = rng.choice(writes)
                sigkill = {"hold": hold, "skip": rng.randrange(profile[hold])}
            else:
                sigkill = {"at_request": rng.randint(1, max(1, profile["xero:all"]))}
        out.append(Schedule(i, faults, sigkill, mutate=rng.random() < 0.25))
    return out


def _rule(f: Fault) -> dict[str, Any]:
    methods, rx = TARGETS[f.target]
    rule: dict[str, Any] = {"methods": methods, "path_regex": rx, "skip": f.skip, "times": f.times}
    name = f.kind.split("_", 1)[1]
    if name == "429_minute":
        return rule | {
            "action": "status",
            "status": 429,
            "headers": {"Retry-After": "1", "X-Rate-Limit-Problem": "minute"},
            "body": {"Title": "Too Many Requests", "Status": 429, "Detail": "Rate limit exceeded: minute"},
        }
    if name == "429_day":
        return rule | {
            "action": "status",
            "status": 429,
            "headers": {"Retry-After": "3600", "X-Rate-Limit-Problem": "day"},
            "body": {"Title": "Too Many Requests", "Status": 429, "Detail": "Rate limit exceeded: day"},
        }
    if name == "5xx":
        body: Any = (
            [{"errorCode": "SERVER_UNAVAILABLE", "message": "soak"}]
            if f.kind.startswith("sf")
            else "Service Unavailable"
        )
        return rule | {"action": "status", "status": f.status, "body": body}
    if name in ("drop_before_commit", "drop_after_commit"):
        return rule | {"action": name}
    if name == "timeout":
        return rule | {
            "action": "delay",
            "delay_seconds": (SF_TIMEOUT if f.kind.startswith("sf") else XERO_TIMEOUT) + 0.5,
        }
    if name == "token_expiry":
        return rule | {
            "action": "status",
            "status": 401,
            "headers": {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            "body": {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired at soak"},
        }
    raise ValueError(f"no rule for {f.kind}")
