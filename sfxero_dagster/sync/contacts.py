"""Before a contact push: refuse writes beyond invariant 1 and record how each matched contact was linked."""

from __future__ import annotations

from sfxero_dagster.config import SfxeroConfig, XeroTenantConfig
from sfxero_dagster.core.push import Planned, foreign_contact_writes
from sfxero_dagster.store.ledger import Event, Ledger, Link
from sfxero_dagster.sync.plan import links_by_source


class ForeignContactWrites(RuntimeError):
    """The plan would change Xero contacts this project did not create beyond their link's evidence."""


def record_contact_links(
    led: Ledger, plan: list[Planned], tenant: XeroTenantConfig, cfg: SfxeroConfig, run_id: str
) -> int:
    """Before a contact push: refuse writes beyond invariant 1, and record how each matched contact was
    linked (its origin) so the push and later runs know what they may change on it.

    A ``link`` (a contact linked by weak evidence: nothing it may change) is recorded here and costs no
    call. An update of a newly linked contact starts with an empty hash, so a failed update is retried.
    """
    if bad := foreign_contact_writes(plan, cfg.contacts.salesforce_masters()):
        raise ForeignContactWrites(
            "refusing to change Xero contacts this project did not create: " + "; ".join(bad[:10])
        )
    known = links_by_source(led, tenant.tenant_id, "Contacts")
    links, events = [], []
    for p in plan:
        if p.collection != "Contacts" or p.action not in ("link", "update") or not p.payload:
            continue
        contact_id = p.payload["ContactID"]
        before = known.get((p.sf_object, p.sf_id))
        if p.action == "update" and before is not None and before.xero_id == contact_id:
            continue  # linked already; the update's outcome moves its hash
        digest = p.payload_hash if p.action == "link" else ""
        links.append(
            Link(
                tenant.tenant_id, p.sf_object, p.sf_id, "Contacts", contact_id, None, digest, origin=p.origin
            )
        )
        events.append(
            Event(
                "link",
                run_id,
                "Contacts",
                p.sf_object,
                p.sf_id,
                tenant.tenant_id,
                contact_id,
                context={"origin": p.origin},
            )
        )
    led.upsert_links(links)
    led.log_events(events)
    return len(links)
