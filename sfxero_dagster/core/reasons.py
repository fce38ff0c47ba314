"""The review-queue reason codes: one vocabulary for validation, matching, pushes and the UI.

One module: it is the catalogue a person reads to learn every reason, so it stays in one place.

Each reason carries a default severity (overridable per reason in ``validation.severity``), a hint
written for the person who has to fix the record, not for the developer, and an ``example``: the values
its producers pass, so a test can render every hint.

Field convention (a queue item's ``field`` and every ``{field}`` in a hint) - the place to make the fix:

- a Salesforce field API name on the item's ``sf_object`` (``CloseDate`` on an Opportunity,
  ``EffectiveDate`` on an Order), or, for an item with a ``line_id``, on that line's object
  (``Quantity`` on an OpportunityLineItem or OrderItem); a field of a related record is written
  ``<SObject>.<Field>`` (``Product2.ProductCode``, ``Account.BillingCountry``, ``Contact.Email``); a related
  list by its child relationship name (``OpportunityLineItems``);
- ``sfxero.yaml:<key path>`` when the fix is in the configuration (``sfxero.yaml:tax.mapping.au``,
  ``sfxero.yaml:tracking[0].xero_category``), see :func:`config_field`;
- ``Xero:<name>`` when only Xero can change it, see :func:`xero_field`.

Values are shown as ``{value!r}`` where a stray space or letter case matters, so ``'GST '`` is visible.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

Severity = Literal["ERROR", "WARN"]
Stage = Literal["validate", "match", "push", "writeback"]

# Set (to anything) by the test suite: a hint with a missing value raises instead of rendering '?'.
STRICT_ENV = "SFXERO_STRICT_HINTS"
CONFIG_PREFIX = "sfxero.yaml:"
XERO_PREFIX = "Xero:"


def config_field(path: str) -> str:
    """The ``field`` of an item whose fix is the configuration key ``path`` (e.g. ``tax.mapping.au``)."""
    return CONFIG_PREFIX + path


def xero_field(name: str) -> str:
    """The ``field`` of an item whose fix is in Xero (e.g. ``InvoiceNumber``)."""
    return XERO_PREFIX + name


def field_kind(name: str) -> tuple[Literal["salesforce", "config", "xero"], str]:
    """Which side a ``field`` is on and its bare name, by the convention above."""
    if name.startswith(CONFIG_PREFIX):
        return "config", name[len(CONFIG_PREFIX) :]
    if name.startswith(XERO_PREFIX):
        return "xero", name[len(XERO_PREFIX) :]
    return "salesforce", name


@dataclass(frozen=True)
class Reason:
    code: str
    stage: Stage
    severity: Severity
    description: str
    hint: str
    # What a producer passes: sf_object (and line=True for a line-level item), field, and the values.
    example: Mapping[str, Any] = field(default_factory=dict)


_ACC = {"sf_object": "Account"}
_OPP = {"sf_object": "Opportunity"}
_LINE = {"sf_object": "Opportunity", "line": True}

_REASONS: tuple[Reason, ...] = (
    # --- record shape ---------------------------------------------------------------------------------
    Reason(
        "missing_required_field",
        "validate",
        "ERROR",
        "A field Xero needs is empty.",
        "Fill in {field} on the Salesforce record.",
        {**_ACC, "field": "Name"},
    ),
    Reason(
        "field_too_long",
        "validate",
        "ERROR",
        "A value is longer than Xero allows.",
        "Shorten {field} to at most {limit} characters (it has {length}).",
        {**_ACC, "field": "Tax_Number__c", "value": "X" * 60, "limit": 50, "length": 60},
    ),
    Reason(
        "invalid_characters",
        "validate",
        "ERROR",
        "A value has characters Xero rejects there.",
        "Use printable ASCII in {field}; Xero rejects {value!r}.",
        {**_OPP, "field": "sfxero.yaml:invoices.number_prefix", "value": "SF\u2013006000000000001AAA"},
    ),
    Reason(
        "invalid_date",
        "validate",
        "ERROR",
        "A date is missing or not a real date.",
        "Set a valid {field} on the Salesforce record.",
        {**_OPP, "field": "CloseDate"},
    ),
    Reason(
        "invalid_email",
        "validate",
        "ERROR",
        "The billing e-mail address is malformed.",
        "Correct the e-mail {value!r} in {field} on the account's billing contact.",
        {**_ACC, "field": "Contact.Email", "value": "accounts@example"},
    ),
    Reason(
        "missing_email",
        "validate",
        "WARN",
        "The account has no billing e-mail; Xero cannot send invoices.",
        "Fill in {field} on the account's billing contact (the contact with Is_Billing_Contact__c ticked, "
        "else any contact of the account).",
        {**_ACC, "field": "Contact.Email"},
    ),
    # --- routing and currency -----------------------------------------------------------------------
    Reason(
        "unroutable_account",
        "validate",
        "ERROR",
        "No Xero organisation is configured for this account.",
        "No routing rule matches {field} = {value!r}: add it to a rule's values (routing.rules in "
        "sfxero.yaml), set routing.default_tenant, or change {field}.",
        {**_OPP, "field": "Account.BillingCountry", "value": "New Zealand"},
    ),
    Reason(
        "unroutable_country",
        "validate",
        "ERROR",
        "The account's routing country is not a country, so no Xero organisation is chosen for it.",
        "Set {field} on the account to a country name or ISO code; {value!r} is not a country.",
        {**_ACC, "field": "BillingCountry", "value": "Atlantis"},
    ),
    Reason(
        "missing_currency",
        "validate",
        "ERROR",
        "The record has no currency, so the invoice's currency is unknown.",
        "Set {field} (the currency of the invoice) on the Salesforce record; it is blank.",
        {**_OPP, "field": "CurrencyIsoCode"},
    ),
    Reason(
        "currency_not_enabled",
        "validate",
        "ERROR",
        "The currency is not enabled in the target Xero organisation.",
        "Enable {value} in Xero organisation {tenant!r} (Settings > Currencies), or change {field} on the "
        "record to a currency it has.",
        {**_OPP, "field": "CurrencyIsoCode", "value": "JPY", "tenant": "au"},
    ),
    Reason(
        "currency_mismatch",
        "validate",
        "ERROR",
        "A line's currency differs from its invoice's currency.",
        "This line is in {value} but the record in {expected}: use price book entries in {expected} for "
        "every line of the record.",
        {**_LINE, "field": "CurrencyIsoCode", "value": "NZD", "expected": "AUD"},
    ),
    # --- products, items, accounts -----------------------------------------------------------------------
    Reason(
        "missing_sku",
        "validate",
        "ERROR",
        "The product has no SKU (ProductCode), so it has no Xero item.",
        "Set {field} (Product Code) on product {value!r}.",
        {**_LINE, "field": "Product2.ProductCode", "value": "01t000000000001AAA"},
    ),
    Reason(
        "sku_not_in_xero",
        "validate",
        "ERROR",
        "No Xero item has this code and creating items is off.",
        "Xero organisation {tenant!r} has no item {value!r}: correct {field}, create the item in Xero "
        "(Products and services), or set items.create_missing: true in sfxero.yaml.",
        {**_LINE, "field": "Product2.ProductCode", "value": "SKU-NOT-IN-XERO", "tenant": "au"},
    ),
    Reason(
        "inactive_product",
        "validate",
        "WARN",
        "The product is inactive in Salesforce.",
        "Reactivate product {value!r} ({field}) or remove it from the record.",
        {**_LINE, "field": "Product2.IsActive", "value": "SKU-00001"},
    ),
    Reason(
        "unknown_account_code",
        "validate",
        "ERROR",
        "The account code is not in the Xero chart of accounts.",
        "Account code {value!r} is not an active account in Xero organisation {tenant!r}: change {field} "
        "to an active revenue account code, or add it to the chart of accounts in Xero.",
        {**_LINE, "field": "Product2.Xero_Account_Code__c", "value": "999", "tenant": "au"},
    ),
    # --- tax and tracking --------------------------------------------------------------------------------
    Reason(
        "unmapped_tax_code",
        "validate",
        "ERROR",
        "The Salesforce tax code has no Xero TaxType mapping.",
        "Tax code {value!r} from {field} has no TaxType in tax.mapping.{tenant}: set {field} to one of "
        "{known}, or add {value!r} with its TaxType under tax.mapping.{tenant} in sfxero.yaml.",
        {
            **_LINE,
            "field": "Tax_Code__c",
            "value": "LUX_TAX",
            "tenant": "au",
            "known": "EXPORT, GST, GST_FREE",
        },
    ),
    Reason(
        "unknown_tax_type",
        "validate",
        "ERROR",
        "The mapped TaxType is not an active tax rate in the organisation.",
        "{field} maps tax code {tax_code!r} to TaxType {value!r}, which is not an active tax rate in Xero "
        "organisation {tenant!r}: change it in sfxero.yaml to one of {known}, or activate that rate in Xero.",
        {
            **_LINE,
            "field": "sfxero.yaml:tax.mapping.au",
            "value": "OUTPUT9",
            "tax_code": "GST",
            "tenant": "au",
            "known": "EXEMPTOUTPUT, OUTPUT",
        },
    ),
    Reason(
        "ambiguous_code",
        "validate",
        "ERROR",
        "Xero has two codes that differ only in letter case or spaces, and the record's code matches both.",
        "{value!r} from {field} matches {candidates} in Xero organisation {tenant!r}, which Xero tells apart "
        "only by letter case or spaces: rename or archive one of them in Xero.",
        {
            **_LINE,
            "field": "Product2.ProductCode",
            "value": "sku-1",
            "candidates": "'SKU-1', 'sku-1'",
            "tenant": "au",
        },
    ),
    Reason(
        "unknown_tracking_category",
        "validate",
        "ERROR",
        "The configured tracking category does not exist.",
        "Xero organisation {tenant!r} has no active tracking category {value!r}: create it in Xero "
        "(Settings > Tracking categories) or correct {field}.",
        {**_OPP, "field": "sfxero.yaml:tracking[0].xero_category", "value": "Region", "tenant": "au"},
    ),
    Reason(
        "unknown_tracking_option",
        "validate",
        "ERROR",
        "The tracking option does not exist in Xero.",
        "{value!r} from {field} is not an active option of tracking category {category!r} in Xero "
        "organisation {tenant!r} (it has {known}): change {field}, add the option in Xero, or map the value "
        "under {option_map} in sfxero.yaml.",
        {
            **_OPP,
            "field": "Sales_Region__c",
            "value": "Atlantis",
            "category": "Region",
            "tenant": "au",
            "known": "East, North, South, West",
            "option_map": "tracking[0].option_map",
        },
    ),
    Reason(
        "too_many_tracking_categories",
        "validate",
        "ERROR",
        "Xero allows at most two tracking categories per line.",
        "Keep at most two entries in {field}: Xero allows two tracking categories per line.",
        {**_OPP, "field": "sfxero.yaml:tracking"},
    ),
    # --- quantities and money ---------------------------------------------------------------------------
    Reason(
        "no_line_items",
        "validate",
        "ERROR",
        "The record has no line items to invoice.",
        "Add products ({field}) to the record before it is closed or activated.",
        {**_OPP, "field": "OpportunityLineItems"},
    ),
    Reason(
        "invalid_quantity",
        "validate",
        "ERROR",
        "A line quantity is zero or missing.",
        "Set {field} greater than 0 on the line (credit notes come from cancelled orders).",
        {**_LINE, "field": "Quantity", "value": "0.0"},
    ),
    Reason(
        "zero_value_line",
        "validate",
        "ERROR",
        "A line's quantity, price or discount rounds to nothing at the precision Salesforce and Xero keep, "
        "so the line would be worth 0.00 in Xero.",
        "This line would be worth 0.00 in Xero: {detail}. Correct {field} on the Salesforce line to the "
        "real amount, or delete the line; a free item keeps its quantity and has UnitPrice 0.",
        {
            **_LINE,
            "field": "Quantity",
            "value": "0.00001",
            "detail": "OpportunityLineItem.Quantity 0.00001 rounds to 0",
        },
    ),
    Reason(
        "zero_value_invoice",
        "validate",
        "ERROR",
        "The record's lines add up to 0.00 at the precision Salesforce and Xero keep, so Xero would get an "
        "invoice for nothing.",
        "Its lines come to {value} before rounding and 0.00 in Xero. Correct Quantity and UnitPrice on the "
        "record's {lines} lines in Salesforce; if nothing is owed, {not_invoiced}.",
        {
            **_OPP,
            "field": "Amount",
            "value": "0.00004",
            "lines": "OpportunityLineItem",
            "not_invoiced": "set the opportunity's StageName to Closed Lost",
        },
    ),
    Reason(
        "negative_amount",
        "validate",
        "ERROR",
        "A line has a negative quantity or price.",
        "{field} is {value} on the line: make it positive, or cancel the order (a credit note) instead of "
        "negative lines.",
        {**_LINE, "field": "UnitPrice", "value": "-10.0"},
    ),
    Reason(
        "invalid_unit_price",
        "validate",
        "ERROR",
        "A unit price is missing.",
        "Set {field} on the line.",
        {**_LINE, "field": "UnitPrice"},
    ),
    Reason(
        "invalid_discount",
        "validate",
        "ERROR",
        "A discount is outside 0-100 %.",
        "Set {field} on the line between 0 and 100 (it is {value}).",
        {**_LINE, "field": "Discount", "value": "120.0"},
    ),
    Reason(
        "line_amount_too_large",
        "validate",
        "ERROR",
        "A line amount exceeds Xero's maximum.",
        "Split the line (lower its {field} and add another line): Xero's maximum line amount is "
        "9,999,999,999.99.",
        {**_LINE, "field": "Quantity"},
    ),
    Reason(
        "amount_mismatch",
        "validate",
        "ERROR",
        "Salesforce's total differs from Xero's arithmetic beyond tolerance.",
        "Check discounts and rounding: {field} in Salesforce says {value}, Xero would post {expected}.",
        {**_OPP, "field": "Amount", "value": "100.0", "expected": "99.99"},
    ),
    Reason(
        "duplicate_invoice_number",
        "validate",
        "ERROR",
        "Two records would get the same Xero invoice number.",
        "{value!r} is the invoice number of more than one record: give each source its own prefix in {field}.",
        {**_OPP, "field": "sfxero.yaml:invoices.number_prefix", "value": "SF-006000000000001AAA"},
    ),
    # --- contacts ----------------------------------------------------------------------------------------
    Reason(
        "ambiguous_contact_match",
        "match",
        "ERROR",
        "Two Xero contacts match this account almost equally well.",
        "Xero contacts {candidates} match this account almost equally: put the right one's ContactID in "
        "Xero_Contact_Id__c on the account.",
        {**_ACC, "field": "Name", "value": "Acme Pty Ltd", "candidates": "'Acme Pty Ltd' (c1), 'ACME' (c2)"},
    ),
    Reason(
        "name_lookalike",
        "match",
        "ERROR",
        "A Xero contact's name resembles this account's, but not the way a typo would; it was not linked.",
        "Xero contact {contact!r} ({value}) was not linked: {why}. If it is the same company, put "
        "{value} in Xero_Contact_Id__c; if not, create this account's contact in Xero and put its "
        "ContactID there.",
        {
            **_ACC,
            "field": "Name",
            "value": "c1",
            "contact": "Southern Ember Consulting",
            "why": "the names differ in a whole word",
        },
    ),
    Reason(
        "name_contradicted",
        "match",
        "ERROR",
        "A Xero contact has this account's name, but its details say it is another company; it was not linked.",
        "Xero contact {contact!r} ({value}) has this account's name, but {why}. If it is the same "
        "company, put {value} in Xero_Contact_Id__c on the account; if not, rename the account (Xero "
        "rejects two contacts with one name).",
        {
            **_ACC,
            "field": "Name",
            "value": "c1",
            "contact": "ACME PTY LTD",
            "why": "the phones differ",
        },
    ),
    Reason(
        "name_clash",
        "match",
        "ERROR",
        "A different active Xero contact already has this name.",
        "Xero contact {contact!r} ({contact_id}) already has this name and belongs to another account: "
        "rename this account, or, if it is the same company, put {contact_id} in Xero_Contact_Id__c.",
        {**_ACC, "field": "Name", "value": "Acme Pty Ltd", "contact": "Acme Pty Ltd", "contact_id": "c1"},
    ),
    Reason(
        "duplicate_account",
        "match",
        "ERROR",
        "Another Salesforce account looks like the same company.",
        "Merge it with account {value} in Salesforce, or link each to its own Xero contact (Xero_Contact_Id__c).",
        {**_ACC, "field": "Name", "value": "001000000000002AAA"},
    ),
    Reason(
        "stale_link",
        "match",
        "ERROR",
        "The linked Xero contact no longer exists.",
        "{field} is {value!r}, but Xero organisation {tenant!r} has no contact with that ContactID: clear "
        "it (the account is then matched or created) or put the right ContactID there.",
        {
            **_ACC,
            "field": "Xero_Contact_Id__c",
            "value": "0f1e2d3c-0000-4000-8000-000000000000",
            "tenant": "au",
        },
    ),
    Reason(
        "linked_contact_archived",
        "match",
        "WARN",
        "The linked Xero contact is archived.",
        "Xero contact {value} (from {field}) is archived in organisation {tenant!r}: restore it in Xero, or "
        "put another ContactID in {field}.",
        {
            **_ACC,
            "field": "Xero_Contact_Id__c",
            "value": "0f1e2d3c-0000-4000-8000-000000000000",
            "tenant": "au",
        },
    ),
    Reason(
        "contact_pending_review",
        "push",
        "ERROR",
        "The invoice waits for its account's contact match to be resolved.",
        "Account {account} has no Xero contact yet because of its open review item(s) {account_reasons}: "
        "resolve those (sfxero queue list --record {account}); this invoice is sent on the next push after.",
        {**_OPP, "field": "AccountId", "account": "001000000000001AAA", "account_reasons": "name_clash"},
    ),
    Reason(
        "contact_not_pushed",
        "push",
        "ERROR",
        "The invoice's account has no Xero contact yet, and nothing about it is in review.",
        "Account {account} has no contact in Xero organisation {org!r} yet and no open review item: run "
        "the contact push for {org!r} (it runs before the invoices) and check its failures.",
        {**_OPP, "field": "AccountId", "account": "001000000000001AAA", "org": "au"},
    ),
    # --- one live document per record -------------------------------------------------------------------
    Reason(
        "invoice_rerouted",
        "push",
        "ERROR",
        "The record now belongs to another Xero organisation; its invoice there is voided before this one is made.",
        "Nothing to do if invoice {old_invoice} in organisation {old_tenant!r} is unpaid: it is voided and this "
        "record is invoiced here on the next push. If it has payments, follow its rerouted_invoice_paid item.",
        {
            **_OPP,
            "field": "Account.BillingCountry",
            "old_invoice": "SF-006000000000001AAA",
            "old_tenant": "au",
        },
    ),
    Reason(
        "rerouted_invoice_paid",
        "push",
        "ERROR",
        "The record moved to another Xero organisation, but its invoice in the old one has payments or credits.",
        "Invoice {value} in organisation {org!r} has payments, so it was not voided and nothing was created in "
        "{target!r}. Either set {field} back so it stays in {org!r}, or refund or credit {value} in Xero and "
        "void it there; the record is then invoiced in {target!r}.",
        {
            **_OPP,
            "field": "Account.BillingCountry",
            "value": "SF-006000000000001AAA",
            "org": "au",
            "target": "uk",
        },
    ),
    Reason(
        "invoice_withdrawn",
        "push",
        "ERROR",
        "The record is no longer invoiceable (reopened, back to draft) but its Xero invoice is live.",
        "Invoice {value} in organisation {org!r} stays as it is: {message}. If the customer still owes it, "
        "close the Salesforce record again (won / activated); if not, credit or void {value} in Xero.",
        {
            **_OPP,
            "field": "StageName",
            "value": "SF-006000000000001AAA",
            "org": "au",
            "message": "invoice SF-006000000000001AAA in 'au' has 10.00 paid or credited",
        },
    ),
    # --- push and write-back ------------------------------------------------------------------------------
    Reason(
        "xero_validation_error",
        "push",
        "ERROR",
        "Xero rejected the record.",
        "Xero said {message!r}. Fix what it names on the Salesforce record (or in sfxero.yaml); the record "
        "is sent again on the next push.",
        {**_OPP, "field": "Xero:Invoice", "message": "Email address must be valid."},
    ),
    Reason(
        "invoice_not_editable",
        "push",
        "WARN",
        "The Xero invoice is paid or credited and cannot be changed.",
        "Invoice {value} is paid or credited in Xero, so this change in Salesforce was not applied: make it "
        "in Xero, or raise a credit note for it there and invoice the difference.",
        {**_OPP, "field": "Xero:Invoice", "value": "SF-006000000000001AAA"},
    ),
    Reason(
        "salesforce_write_failed",
        "writeback",
        "ERROR",
        "Salesforce rejected the write-back.",
        "Salesforce said {message!r}. Fix what it names (a validation rule, a field's access) on the record; "
        "the write-back is retried on the next run.",
        {
            "sf_object": "Opportunity",
            "field": "Xero_Invoice_Id__c",
            "message": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        },
    ),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}


def reason(code: str) -> Reason:
    try:
        return REASONS[code]
    except KeyError:
        raise KeyError(f"unknown reason code {code!r}; known: {', '.join(sorted(REASONS))}") from None


class HintError(KeyError):
    """A hint needs a value its producer did not pass (raised only under ``SFXERO_STRICT_HINTS``)."""


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def hint(code: str, **values: object) -> str:
    """The reason's hint with record values filled in.

    A value the template needs but is missing (or None/NaN, which would print as 'None') raises
    :class:`HintError` when ``SFXERO_STRICT_HINTS`` is set (the test suite sets it), so a producer that
    forgets a value fails its tests; in production it renders '?' and logs, never failing the run.
    """
    template = reason(code).hint
    given = {k: v for k, v in values.items() if not _blank(v)}
    try:
        return template.format_map(given)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        if os.environ.get(STRICT_ENV):
            raise HintError(f"hint {code!r} needs {exc} (got {sorted(given)})") from exc
        log.warning("hint %r: no value for %s; rendered as '?'", code, exc)

    class _Unknown(dict):
        def __missing__(self, key: str) -> str:
            return "?"

    try:
        return template.format_map(_Unknown(given))
    except (ValueError, IndexError, AttributeError):
        return template
