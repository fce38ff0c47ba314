"""The review-queue reason codes: one vocabulary for validation, matching, pushes and the UI.

Each reason carries a default severity (overridable per reason in ``validation.severity``) and a hint
written for the person who has to fix the record, not for the developer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["ERROR", "WARN"]
Stage = Literal["validate", "match", "push", "writeback"]


@dataclass(frozen=True)
class Reason:
    code: str
    stage: Stage
    severity: Severity
    description: str
    hint: str


_REASONS: tuple[Reason, ...] = (
    # --- record shape ---------------------------------------------------------------------------------
    Reason(
        "missing_required_field",
        "validate",
        "ERROR",
        "A field Xero needs is empty.",
        "Fill in {field} on the Salesforce record.",
    ),
    Reason(
        "field_too_long",
        "validate",
        "ERROR",
        "A value is longer than Xero allows.",
        "Shorten {field} to at most {limit} characters (it has {length}).",
    ),
    Reason(
        "invalid_characters",
        "validate",
        "ERROR",
        "A value has characters Xero rejects there.",
        "Use printable ASCII in {field}; Xero rejects {value!r}.",
    ),
    Reason(
        "invalid_date",
        "validate",
        "ERROR",
        "A date is missing or not a real date.",
        "Set a valid {field} on the Salesforce record.",
    ),
    Reason(
        "invalid_email",
        "validate",
        "ERROR",
        "The billing e-mail address is malformed.",
        "Correct the e-mail {value!r} on the billing contact.",
    ),
    Reason(
        "missing_email",
        "validate",
        "WARN",
        "The account has no billing e-mail; Xero cannot send invoices.",
        "Add a billing contact with an e-mail address (Is_Billing_Contact__c).",
    ),
    # --- routing and currency -----------------------------------------------------------------------
    Reason(
        "unroutable_account",
        "validate",
        "ERROR",
        "No Xero organisation is configured for this account.",
        "Add {value!r} to a routing rule or set routing.default_tenant.",
    ),
    Reason(
        "unroutable_country",
        "validate",
        "ERROR",
        "The account's routing country is not a country, so no Xero organisation is chosen for it.",
        "Set {field} on the account to a country name or ISO code; {value!r} is not a country.",
    ),
    Reason(
        "currency_not_enabled",
        "validate",
        "ERROR",
        "The currency is not enabled in the target Xero organisation.",
        "Enable {value} in Xero (Settings > Currencies) or change the record's currency.",
    ),
    Reason(
        "currency_mismatch",
        "validate",
        "ERROR",
        "A line's currency differs from its invoice's currency.",
        "Use price book entries in {value} for every line of this record.",
    ),
    # --- products, items, accounts -----------------------------------------------------------------------
    Reason(
        "missing_sku",
        "validate",
        "ERROR",
        "The product has no SKU (ProductCode), so it has no Xero item.",
        "Set Product Code on product {value!r}.",
    ),
    Reason(
        "sku_not_in_xero",
        "validate",
        "ERROR",
        "No Xero item has this code and creating items is off.",
        "Create item {value!r} in Xero, or set items.create_missing: true.",
    ),
    Reason(
        "inactive_product",
        "validate",
        "WARN",
        "The product is inactive in Salesforce.",
        "Reactivate product {value!r} or remove it from the record.",
    ),
    Reason(
        "unknown_account_code",
        "validate",
        "ERROR",
        "The account code is not in the Xero chart of accounts.",
        "Use an active revenue account code instead of {value!r}.",
    ),
    # --- tax and tracking --------------------------------------------------------------------------------
    Reason(
        "unmapped_tax_code",
        "validate",
        "ERROR",
        "The Salesforce tax code has no Xero TaxType mapping.",
        "Add {value!r} to tax.mapping for this organisation.",
    ),
    Reason(
        "unknown_tax_type",
        "validate",
        "ERROR",
        "The mapped TaxType is not an active tax rate in the organisation.",
        "Fix tax.mapping: {value!r} is not an active TaxType in this organisation.",
    ),
    Reason(
        "unknown_tracking_category",
        "validate",
        "ERROR",
        "The configured tracking category does not exist.",
        "Create tracking category {value!r} in Xero or fix the tracking mapping.",
    ),
    Reason(
        "unknown_tracking_option",
        "validate",
        "ERROR",
        "The tracking option does not exist in Xero.",
        "Add option {value!r} to the tracking category in Xero, or map it in tracking.option_map.",
    ),
    Reason(
        "too_many_tracking_categories",
        "validate",
        "ERROR",
        "Xero allows at most two tracking categories per line.",
        "Map at most two tracking fields.",
    ),
    # --- quantities and money ---------------------------------------------------------------------------
    Reason(
        "no_line_items",
        "validate",
        "ERROR",
        "The record has no line items to invoice.",
        "Add products to the record before it is closed or activated.",
    ),
    Reason(
        "invalid_quantity",
        "validate",
        "ERROR",
        "A line quantity is zero or missing.",
        "Set a quantity greater than 0 on the line (credit notes come from cancellations).",
    ),
    Reason(
        "zero_value_line",
        "validate",
        "ERROR",
        "A line's quantity, price or discount rounds to nothing at the precision Salesforce and Xero keep, "
        "so the line would be worth 0.00 in Xero.",
        "This line would be worth 0.00 in Xero: {detail}. Correct {field} on the Salesforce line to the "
        "real amount, or delete the line; a free item keeps its quantity and has UnitPrice 0.",
    ),
    Reason(
        "zero_value_invoice",
        "validate",
        "ERROR",
        "The record's lines add up to 0.00 at the precision Salesforce and Xero keep, so Xero would get an "
        "invoice for nothing.",
        "Its lines come to {value} before rounding and 0.00 in Xero. Correct Quantity and UnitPrice on the "
        "record's {lines} lines in Salesforce; if nothing is owed, {not_invoiced}.",
    ),
    Reason(
        "negative_amount",
        "validate",
        "ERROR",
        "A line has a negative quantity or price.",
        "Use a cancelled order (credit note) instead of negative lines, or fix the line.",
    ),
    Reason(
        "invalid_unit_price", "validate", "ERROR", "A unit price is missing.", "Set a unit price on the line."
    ),
    Reason(
        "invalid_discount",
        "validate",
        "ERROR",
        "A discount is outside 0-100 %.",
        "Set a discount between 0 and 100 (got {value}).",
    ),
    Reason(
        "line_amount_too_large",
        "validate",
        "ERROR",
        "A line amount exceeds Xero's maximum.",
        "Split the line: Xero's maximum line amount is 9,999,999,999.99.",
    ),
    Reason(
        "amount_mismatch",
        "validate",
        "ERROR",
        "Salesforce's total differs from Xero's arithmetic beyond tolerance.",
        "Check discounts and rounding: Salesforce says {value}, Xero would post {expected}.",
    ),
    Reason(
        "duplicate_invoice_number",
        "validate",
        "ERROR",
        "Two records would get the same Xero invoice number.",
        "Make the numbers unique; {value!r} is used by more than one record.",
    ),
    # --- contacts ----------------------------------------------------------------------------------------
    Reason(
        "ambiguous_contact_match",
        "match",
        "ERROR",
        "Two Xero contacts match this account almost equally well.",
        "Pick the right Xero contact and store its ContactID in Xero_Contact_Id__c.",
    ),
    Reason(
        "name_lookalike",
        "match",
        "ERROR",
        "A Xero contact's name resembles this account's, but not the way a typo would; it was not linked.",
        "Xero contact {contact!r} ({value}) was not linked: {why}. If it is the same company, put {value} "
        "in Xero_Contact_Id__c; if not, create this account's contact in Xero and put its ContactID there.",
    ),
    Reason(
        "name_contradicted",
        "match",
        "ERROR",
        "A Xero contact has this account's name, but its details say it is another company; it was not linked.",
        "Xero contact {contact!r} ({value}) has this account's name, but {why}. If it is the same company, "
        "put {value} in Xero_Contact_Id__c on the account; if not, rename the account (Xero rejects two "
        "contacts with one name).",
    ),
    Reason(
        "name_clash",
        "match",
        "ERROR",
        "A different active Xero contact already has this name.",
        "Link the account to that contact (Xero_Contact_Id__c) or rename one of them.",
    ),
    Reason(
        "duplicate_account",
        "match",
        "ERROR",
        "Another Salesforce account looks like the same company.",
        "Merge it with account {value} in Salesforce, or link each to its own Xero contact.",
    ),
    Reason(
        "stale_link",
        "match",
        "ERROR",
        "The linked Xero contact no longer exists.",
        "Clear or correct Xero_Contact_Id__c ({value}).",
    ),
    Reason(
        "linked_contact_archived",
        "match",
        "WARN",
        "The linked Xero contact is archived.",
        "Restore the contact in Xero or link another one.",
    ),
    Reason(
        "contact_pending_review",
        "push",
        "ERROR",
        "The invoice waits for its account's contact match to be resolved.",
        "Resolve the account's contact-match review item first.",
    ),
    # --- one live document per record -------------------------------------------------------------------
    Reason(
        "invoice_rerouted",
        "push",
        "ERROR",
        "The record now belongs to another Xero organisation; its invoice there is voided before this one is made.",
        "Nothing to do if invoice {old_invoice} in organisation {old_tenant!r} is unpaid: it is voided and this "
        "record is invoiced here on the next push. If it has payments, follow its rerouted_invoice_paid item.",
    ),
    Reason(
        "rerouted_invoice_paid",
        "push",
        "ERROR",
        "The record moved to another Xero organisation, but its invoice in the old one has payments or credits.",
        "Invoice {value} in organisation {org!r} has payments, so it was not voided and nothing was created in "
        "{target!r}. Either set the account's routing field back so it stays in {org!r}, or refund or credit "
        "{value} in Xero and void it there; the record is then invoiced in {target!r}.",
    ),
    Reason(
        "invoice_withdrawn",
        "push",
        "ERROR",
        "The record is no longer invoiceable (reopened, back to draft) but its Xero invoice is live.",
        "Invoice {value} in organisation {org!r} stays as it is: {message}. If the customer still owes it, "
        "close the Salesforce record again (won / activated); if not, credit or void {value} in Xero.",
    ),
    # --- push and write-back ------------------------------------------------------------------------------
    Reason("xero_validation_error", "push", "ERROR", "Xero rejected the record.", "Xero said: {message}"),
    Reason(
        "invoice_not_editable",
        "push",
        "WARN",
        "The Xero invoice is paid or credited and cannot be changed.",
        "Change it in Xero, or issue a credit note.",
    ),
    Reason(
        "salesforce_write_failed",
        "writeback",
        "ERROR",
        "Salesforce rejected the write-back.",
        "Salesforce said: {message}",
    ),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}


def reason(code: str) -> Reason:
    try:
        return REASONS[code]
    except KeyError:
        raise KeyError(f"unknown reason code {code!r}; known: {', '.join(sorted(REASONS))}") from None


def hint(code: str, **values: object) -> str:
    """The reason's hint with record values filled in; missing placeholders are left visible."""

    class _Keep(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    try:
        return reason(code).hint.format_map(_Keep(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return reason(code).hint
