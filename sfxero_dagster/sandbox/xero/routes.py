"""The Xero emulator's route table: method + path pattern -> handler (moto's ``urls.py``).

Paths match case-insensitively and whole (see :class:`~..httpbase.Router`). A write marked
``idempotent`` honours ``Idempotency-Key``. To add an endpoint: one line here, the handler and its
rules in the one backend module that owns the resource, and its tests (see the package docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ..httpbase import Handler
from .auth import XeroAuth
from .backend import XeroBackends

API = "/api.xro/2.0"
GUID = r"[0-9a-fA-F-]{36}"
REF = "(?P<ref>[^/]+)"  # an id, or a number/code where Xero accepts one


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    idempotent: bool = False  # a write: a repeated Idempotency-Key replays the first answer


def api_routes(b: XeroBackends, auth: XeroAuth) -> list[Route]:
    org, items, contacts, docs, pays, allocs = (
        b.organisation,
        b.items,
        b.contacts,
        b.documents,
        b.payments,
        b.allocations,
    )
    write = partial(Route, idempotent=True)
    return [
        # identity: OAuth 2.0 and the organisations a token reaches
        Route("POST", "/connect/token", auth.token),
        Route("GET", "/connections", auth.connections),
        # organisation and its settings
        Route("GET", API + "/Organisation", org.get_organisation),
        Route("GET", API + "/Currencies", org.get_currencies),
        Route("GET", API + "/TaxRates", org.get_tax_rates),
        Route("GET", API + "/TrackingCategories", org.get_tracking),
        Route("GET", API + "/Accounts", org.get_accounts),
        Route("GET", API + "/BrandingThemes", org.get_branding),
        # items
        Route("GET", API + "/Items", items.get_items),
        Route("GET", API + f"/Items/{REF}", items.get_item),
        write("PUT", API + "/Items", partial(items.write, create_only=True)),
        write("POST", API + "/Items", partial(items.write, create_only=False)),
        # contacts
        Route("GET", API + "/Contacts", contacts.get_contacts),
        Route("GET", API + f"/Contacts/{REF}", contacts.get_contact),
        write("PUT", API + "/Contacts", partial(contacts.write, create_only=True)),
        write("POST", API + "/Contacts", partial(contacts.write, create_only=False)),
        write("POST", API + f"/Contacts/{REF}", partial(contacts.write, create_only=False)),
        # invoices
        Route("GET", API + "/Invoices", docs.get_invoices),
        Route("GET", API + f"/Invoices/{REF}", docs.get_invoice),
        Route("GET", API + f"/Invoices/(?P<ref>{GUID})/OnlineInvoice", docs.get_online_invoice),
        write("PUT", API + "/Invoices", partial(docs.write, kind="Invoice", create_only=True)),
        write("POST", API + "/Invoices", partial(docs.write, kind="Invoice", create_only=False)),
        write("POST", API + f"/Invoices/{REF}", partial(docs.write, kind="Invoice", create_only=False)),
        # credit notes
        Route("GET", API + "/CreditNotes", docs.get_credit_notes),
        Route("GET", API + f"/CreditNotes/{REF}", docs.get_credit_note),
        write("PUT", API + "/CreditNotes", partial(docs.write, kind="CreditNote", create_only=True)),
        write("POST", API + "/CreditNotes", partial(docs.write, kind="CreditNote", create_only=False)),
        write("POST", API + f"/CreditNotes/{REF}", partial(docs.write, kind="CreditNote", create_only=False)),
        # payments
        Route("GET", API + "/Payments", pays.get_payments),
        Route("GET", API + f"/Payments/(?P<ref>{GUID})", pays.get_payment),
        write("PUT", API + "/Payments", pays.write),
        write("POST", API + "/Payments", pays.write),
        write("POST", API + f"/Payments/(?P<ref>{GUID})", pays.delete_request),
        # allocations, overpayments, prepayments
        write("PUT", API + f"/CreditNotes/{REF}/Allocations", partial(allocs.write, kind="CreditNote")),
        Route("GET", API + "/Overpayments", allocs.get_overpayments),
        write("PUT", API + f"/Overpayments/{REF}/Allocations", partial(allocs.write, kind="Overpayment")),
        Route("GET", API + "/Prepayments", allocs.get_prepayments),
        write("PUT", API + f"/Prepayments/{REF}/Allocations", partial(allocs.write, kind="Prepayment")),
    ]


def control_routes(
    *, reset: Handler, seed: Handler, limits: Handler, state: Handler, refresh_token: Handler, act: Handler
) -> list[Route]:
    """The sandbox's own controls under ``/_sandbox/`` (the clock, faults and request log are common)."""
    return [
        Route("POST", "/_sandbox/reset", reset),
        Route("POST", "/_sandbox/seed", seed),
        Route("POST", "/_sandbox/limits", limits),
        Route("GET", "/_sandbox/state", state),
        Route("POST", "/_sandbox/refresh_token", refresh_token),
        Route("POST", "/_sandbox/act/(?P<action>[a-z_]+)", act),
    ]
