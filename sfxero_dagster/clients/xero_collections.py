"""What we know about each Xero Accounting collection we use, one record each.

The record names xero-python's methods and attributes for the collection, so no caller spells them:
the id and number fields of its elements, whether its writes take ``unitdp=4`` (line amounts to four
decimal places, as Xero documents for Items, Invoices and CreditNotes), the PUT (create) and POST
(create or update) methods, the model that wraps a batch and the attribute a response lists them in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class XeroCollection:
    name: str  # Xero's name, e.g. "Invoices" (also the wrapper model and the ledger's xero_object)
    attr: str  # xero-python's attribute on the response, e.g. "invoices"
    list_method: str | None = None  # e.g. "get_invoices"
    id_field: str | None = None  # e.g. "InvoiceID"
    number_field: str | None = None  # the human number Xero assigns or we send, e.g. "InvoiceNumber"
    unitdp: bool = False  # writes (and item reads) ask for four decimal places
    create_method: str | None = None  # PUT
    update_method: str | None = None  # POST (creates or updates)

    @property
    def model(self) -> str:
        """xero-python's wrapper model of a write batch (its JSON key is the same name)."""
        return self.name


CONTACTS = XeroCollection(
    "Contacts",
    "contacts",
    "get_contacts",
    id_field="ContactID",
    create_method="create_contacts",
    update_method="update_or_create_contacts",
)
ITEMS = XeroCollection(
    "Items",
    "items",
    "get_items",
    id_field="ItemID",
    number_field="Code",
    unitdp=True,
    create_method="create_items",
    update_method="update_or_create_items",
)
INVOICES = XeroCollection(
    "Invoices",
    "invoices",
    "get_invoices",
    id_field="InvoiceID",
    number_field="InvoiceNumber",
    unitdp=True,
    create_method="create_invoices",
    update_method="update_or_create_invoices",
)
CREDIT_NOTES = XeroCollection(
    "CreditNotes",
    "credit_notes",
    "get_credit_notes",
    id_field="CreditNoteID",
    number_field="CreditNoteNumber",
    unitdp=True,
    create_method="create_credit_notes",
    update_method="update_or_create_credit_notes",
)
PAYMENTS = XeroCollection(
    "Payments",
    "payments",
    "get_payments",
    id_field="PaymentID",
    create_method="create_payments",
    update_method="create_payments",
)
ALLOCATIONS = XeroCollection(
    "Allocations",
    "allocations",
    create_method="create_credit_note_allocation",
    update_method="create_credit_note_allocation",
)
# read-only settings (the reference snapshot)
ORGANISATIONS = XeroCollection("Organisations", "organisations", "get_organisations")
TAX_RATES = XeroCollection("TaxRates", "tax_rates", "get_tax_rates")
CURRENCIES = XeroCollection("Currencies", "currencies", "get_currencies")
TRACKING_CATEGORIES = XeroCollection("TrackingCategories", "tracking_categories", "get_tracking_categories")
ACCOUNTS = XeroCollection("Accounts", "accounts", "get_accounts")

COLLECTIONS: dict[str, XeroCollection] = {
    c.name: c
    for c in (
        CONTACTS,
        ITEMS,
        INVOICES,
        CREDIT_NOTES,
        PAYMENTS,
        ALLOCATIONS,
        ORGANISATIONS,
        TAX_RATES,
        CURRENCIES,
        TRACKING_CATEGORIES,
        ACCOUNTS,
    )
}


def collection(name: str | XeroCollection) -> XeroCollection:
    """The record of a collection given by name (as the ledger stores it) or already as a record."""
    if isinstance(name, XeroCollection):
        return name
    try:
        return COLLECTIONS[name]
    except KeyError:
        raise ValueError(f"unknown Xero collection {name!r}; known: {', '.join(COLLECTIONS)}") from None
