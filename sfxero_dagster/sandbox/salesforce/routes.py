"""The route table of the Salesforce emulator: method and path pattern -> the handler of one backend.

Patterns are regular expressions with named groups (``v`` the API version, ``obj`` the sObject, ...),
matched case-insensitively by :class:`~sfxero_dagster.sandbox.httpbase.Router` in this order; the first
pattern whose method matches wins, so more specific paths come before the ones that would swallow them.
Shared control routes (clock, faults, request log) come from ``SandboxApp`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..httpbase import Request, Response
from .actor import Actor
from .auth import Auth
from .backend.bulk2 import Bulk2
from .backend.collections import Collections
from .backend.describe import Describe
from .backend.org import Org
from .backend.query import Query
from .backend.records import Records
from .limits import Limits

DATA = r"/services/data/v(?P<v>\d+\.\d+)"
SOBJECT = DATA + r"/sobjects/(?P<obj>\w+)"
COLLECTIONS = DATA + "/composite/sobjects"
JOBS = DATA + r"/jobs/(?P<kind>ingest|query)"
JOB = JOBS + r"/(?P<job>[\w]+)"

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Backends:
    """Every part of one emulated org; the app builds them, the route table points into them."""

    org: Org
    auth: Auth
    limits: Limits
    records: Records
    collections: Collections
    query: Query
    describe: Describe
    bulk2: Bulk2
    actor: Actor

    @classmethod
    def build(cls, org: Org) -> Backends:
        records = Records(org)
        return cls(
            org=org,
            auth=Auth(org),
            limits=Limits(org),
            records=records,
            collections=Collections(org, records),
            query=Query(org),
            describe=Describe(org),
            bulk2=Bulk2(org, records),
            actor=Actor(org, records),
        )


def routes(b: Backends) -> list[tuple[str, str, Handler]]:
    """(method, path pattern, handler) in match order."""
    rec, col, query, desc, bulk = b.records, b.collections, b.query, b.describe, b.bulk2
    return [
        # ---- login (also answered at the instance URL)
        ("POST", "/services/oauth2/token", b.auth.token),
        ("POST", r"/services/Soap/u/(?P<v>[\d.]+)(/.*)?", b.auth.soap_login),
        # ---- REST
        ("GET", DATA + "/?", desc.resources),
        ("GET", DATA + "/limits/?", b.limits.limits),
        ("GET", DATA + "/query/?", lambda q: query.query(q, include_deleted=False)),
        ("GET", DATA + "/queryAll/?", lambda q: query.query(q, include_deleted=True)),
        ("GET", DATA + r"/query(All)?/(?P<locator>[\w-]+)", query.query_more),
        ("GET", DATA + "/sobjects/?", desc.describe_global),
        ("POST", COLLECTIONS + "/?", lambda q: col.save_many(q, "create")),
        ("PATCH", COLLECTIONS + "/?", lambda q: col.save_many(q, "update")),
        ("DELETE", COLLECTIONS + "/?", col.delete_many),
        ("PATCH", COLLECTIONS + r"/(?P<obj>\w+)/(?P<field>\w+)/?", col.upsert_many),
        ("GET", SOBJECT + "/?", desc.sobject_basic_info),
        ("GET", SOBJECT + "/describe/?", desc.describe),
        ("GET", SOBJECT + "/updated/?", lambda q: rec.changed(q, deleted=False)),
        ("GET", SOBJECT + "/deleted/?", lambda q: rec.changed(q, deleted=True)),
        ("POST", SOBJECT + "/?", rec.create_record),
        ("GET", SOBJECT + r"/(?P<id>\w+)/?", rec.retrieve_record),
        ("PATCH", SOBJECT + r"/(?P<id>\w+)/?", rec.update_record),
        ("DELETE", SOBJECT + r"/(?P<id>\w+)/?", rec.delete_record),
        ("GET", SOBJECT + r"/(?P<field>\w+)/(?P<value>.+)", rec.retrieve_by_external_id),
        ("PATCH", SOBJECT + r"/(?P<field>\w+)/(?P<value>.+)", rec.upsert_by_external_id),
        # ---- control API (tests, demo, benchmarks)
        ("POST", "/_sandbox/reset", b.org.ctl_reset),
        ("POST", "/_sandbox/seed", b.org.ctl_seed),
        ("POST", "/_sandbox/limits", b.limits.ctl_limits),
        ("POST", "/_sandbox/expire_sessions", b.auth.ctl_expire_sessions),
        ("GET", "/_sandbox/state", b.org.ctl_state),
        ("POST", "/_sandbox/act/(?P<action>[a-z_]+)", b.actor.ctl_act),
        # ---- Bulk API 2.0
        ("POST", JOBS + "/?", bulk.create_job),
        ("GET", JOB + "/?", bulk.job_info),
        ("PATCH", JOB + "/?", bulk.set_job_state),
        ("DELETE", JOB + "/?", bulk.delete_job),
        ("PUT", JOB + "/batches/?", bulk.upload_job_data),
        (
            "GET",
            JOB + r"/(?P<which>successfulResults|failedResults|unprocessedrecords)/?",
            bulk.job_results,
        ),
        ("GET", JOB + "/results/?", bulk.query_job_results),
    ]
