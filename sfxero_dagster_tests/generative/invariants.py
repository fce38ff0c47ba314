"""The money-path invariants, checked over the sandboxes' real state after every sync.

Each check is a small function written from the documented behaviour (Xero's arithmetic, the routing
rules in sfxero.yaml, Salesforce's field scales), not by calling the production code under test: a bug in
the pipeline must not be reproduced by its own checker. What they may read besides the sandboxes: the
configuration and the ledger's links and review queue (the record of what we created and why we wait).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sfxero_dagster.config import SfxeroConfig, load_config
from sfxero_dagster.core.reasons import REASONS

from ..defs.conftest import World
from .stats import STATS

CENT, UNIT = Decimal("0.01"), Decimal("0.0001")
CONTACT_FIELDS = ("Name", "EmailAddress", "TaxNumber", "ContactNumber", "Phones", "Addresses")
STRONG_ORIGINS = ("linked_contact_id", "linked_contact_number", "tax_number")
LINES = {
    "Opportunity": ("OpportunityLineItem", "OpportunityId", "Discount"),
    "Order": ("OrderItem", "OrderId", "Discount__c"),
}
# Hints whose placeholders another branch of issue #15 (invariant 7, every hint rendered) is fixing: the
# lead empties this set after merging it. 'field_too_long' prints a literal '{length}'.
PENDING_HINTS: set[str] = set()
PLACEHOLDER = re.compile(r"\{[A-Za-z_][^{}]*\}")

# Every spelling the perturbations write, and the seed's own, as the ISO country they mean (None: not a
# country). Written out by hand on purpose: the routing under test uses pycountry.
COUNTRY = {
    "australia": "AU",
    "au": "AU",
    "aus": "AU",
    "new zealand": "NZ",
    "nz": "NZ",
    "united states": "US",
    "usa": "US",
    "us": "US",
    "united states of america": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "gb": "GB",
    "gbr": "GB",
    "great britain": "GB",
    "ireland": "IE",
    "irl": "IE",
    "germany": "DE",
    "de": "DE",
    "france": "FR",
    "fra": "FR",
    "narnia": None,
    "n/a": None,
    "atlantis": None,
    "-": None,
}
UK_COUNTRIES = {"GB", "IE", "FR", "DE"}  # sfxero.yaml routes these to 'uk', the rest to 'au'


def expected_tenant(country: str | None) -> str | None:
    """The organisation the record belongs in; None when the value is not a country (it waits)."""
    if country is None or not str(country).strip():
        return "au"  # no routing value: the default organisation
    iso = COUNTRY.get(" ".join(str(country).split()).lower(), "??")
    if iso == "??":
        raise AssertionError(f"the checker does not know the spelling {country!r}: add it to COUNTRY")
    if iso is None:
        return None
    return "uk" if iso in UK_COUNTRIES else "au"


def r2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(v) -> Decimal:
    return Decimal(str(v)) if v not in (None, "") else Decimal(0)


@dataclass
class State:
    """One reading of both sandboxes and the ledger."""

    cfg: SfxeroConfig
    tenants: dict[str, str]  # key -> tenant id
    invoices: dict[str, tuple[str, dict]]  # InvoiceID -> (tenant key, invoice), ACCREC only
    credit_notes: list[tuple[str, dict]]
    contacts: dict[str, tuple[str, dict]]  # ContactID -> (tenant key, contact)
    queue: dict[str, list]  # sf_id -> open review items
    contact_links: dict[tuple[str, str], tuple[str, str | None]]  # (tenant key, Account Id) -> (id, origin)


def read_state(world: World) -> State:
    cfg = load_config(world.config_path)
    tenants = {t["key"]: t["tenantId"] for t in world.handle.xero.info()["tenants"]}
    xs = world.handle.xero.store
    invoices, credit_notes, contacts = {}, [], {}
    for key, tid in tenants.items():
        for inv in xs.all(f"{tid}/Invoice"):
            if inv.get("Type") == "ACCREC":
                invoices[inv["InvoiceID"]] = (key, inv)
        for cn in xs.all(f"{tid}/CreditNote"):
            credit_notes.append((key, cn))
        for c in xs.all(f"{tid}/Contact"):
            contacts[c["ContactID"]] = (key, c)
    queue: dict[str, list] = {}
    for item in world.ledger.queue_list():
        queue.setdefault(item.sf_id, []).append(item)
    by_tid = {v: k for k, v in tenants.items()}
    links = world.ledger.links_frame(xero_object="Contacts")
    contact_links = {
        (by_tid.get(r["tenant_id"]), r["sf_id"]): (r["xero_id"], r.get("origin"))
        for r in links.to_dict("records")
    }
    return State(cfg, tenants, invoices, credit_notes, contacts, queue, contact_links)


def live(inv: dict) -> bool:
    return inv.get("Status") not in ("VOIDED", "DELETED")


def source(world: World, sf_id: str) -> tuple[str, dict] | None:
    sf = world.handle.salesforce.store
    for obj in LINES:
        rec = sf.get(obj, sf_id)
        if rec is not None:
            return obj, rec
    return None


def invoiceable(obj: str, rec: dict) -> bool:
    if rec.get("IsDeleted"):
        return False
    return bool(rec.get("IsWon")) if obj == "Opportunity" else rec.get("Status") == "Activated"


def _scale(world: World, obj: str, name: str) -> int:
    f = world.handle.salesforce.schema.get(obj).field(name)
    return f.scale or 0


def _code_key(code) -> str:
    """Xero compares tax types, item codes and tracking options without case or surrounding space."""
    return str(code).strip().upper()


def our_arithmetic(world: World, st: State, tenant: str, obj: str, rec: dict) -> dict:
    """The invoice Xero should hold for the source record's current lines, by Xero's documented rules:
    line amount = quantity x unit amount less the discount, rounded to the cent; tax per line, rounded;
    totals the sums. Quantities and unit amounts at the Salesforce field's scale, then at Xero's 4 dp."""
    line_obj, parent, discount_field = LINES[obj]
    sf = world.handle.salesforce.store
    lines = sorted(
        (ln for ln in sf.find(line_obj, parent, rec["Id"]) if not ln.get("IsDeleted")),
        key=lambda ln: ln["Id"],
    )
    mapping = {_code_key(k): v for k, v in st.cfg.tax.mapping.get(tenant, {}).items()}
    org = world.handle.xero.org(st.tenants[tenant])
    rates = {r["TaxType"]: _dec(r["EffectiveRate"]) for r in org["tax_rates"]}
    out, sub, tax = [], Decimal(0), Decimal(0)
    for ln in lines:
        q_scale = _scale(world, line_obj, "Quantity")
        qty = (
            _dec(ln["Quantity"]).quantize(Decimal(1).scaleb(-q_scale), rounding=ROUND_HALF_UP).quantize(UNIT)
        )
        unit = (
            _dec(ln["UnitPrice"])
            .quantize(Decimal(1).scaleb(-_scale(world, line_obj, "UnitPrice")), rounding=ROUND_HALF_UP)
            .quantize(UNIT)
        )
        disc = _dec(ln.get(discount_field)).quantize(CENT, rounding=ROUND_HALF_UP)
        code = ln.get("Tax_Code__c")
        if code in (None, "") or not str(code).strip():
            product = sf.get("Product2", ln["Product2Id"]) or {}
            code = product.get("Tax_Code__c") or st.cfg.tax.default_code
        tax_type = mapping.get(_code_key(code)) if code else None
        amount = r2(qty * unit * (100 - disc) / 100)
        line_tax = r2(amount * rates.get(tax_type, Decimal(0)) / 100)
        sub, tax = sub + amount, tax + line_tax
        out.append({"Quantity": qty, "UnitAmount": unit, "DiscountRate": disc, "TaxType": tax_type})
    return {"lines": out, "SubTotal": sub, "TotalTax": tax, "Total": sub + tax}


def blocking_codes(cfg: SfxeroConfig) -> set[str]:
    """Validation and matching reasons that hold a record (severity ERROR as configured)."""
    return {
        code
        for code, r in REASONS.items()
        if r.stage in ("validate", "match") and cfg.validation.severity.get(code, r.severity) == "ERROR"
    }


def _waits(st: State, rec: dict) -> list:
    """Why the record may legitimately differ from its invoice: any open item of its own, or a blocking
    one of its account (a warning on the account, e.g. a missing e-mail, holds nothing)."""
    blocking = blocking_codes(st.cfg)
    account = [i for i in st.queue.get(rec.get("AccountId") or "", []) if i.reason_code in blocking]
    return st.queue.get(rec["Id"], []) + account


def check(world: World, st: State, before: State, foreign: dict[str, dict]) -> list[str]:
    """Every invariant over the state after a sync (``before``: the state before it)."""
    bad: list[str] = []
    by_ref: dict[str, list[tuple[str, dict]]] = {}
    for key, inv in st.invoices.values():
        if live(inv) and inv.get("Reference"):
            by_ref.setdefault(inv["Reference"], []).append((key, inv))
    credited = {cn.get("Reference") for _, cn in st.credit_notes if live(cn)}
    written = changed_documents(before, st)

    for ref, docs in by_ref.items():
        src = source(world, ref)
        if src is None:
            continue  # not from Salesforce (a Xero user's own invoice)
        obj, rec = src
        # (c) one live document per source record across all organisations
        if len(docs) > 1:
            bad.append(f"(c) {obj} {ref}: live in {sorted(k for k, _ in docs)}")
        items = _waits(st, rec)
        for key, inv in docs:
            contact_id = inv["Contact"]["ContactID"]
            own = st.contact_links.get((key, rec.get("AccountId")), (None, None))[0]
            others = {a for (k, a), (cid, _) in st.contact_links.items() if k == key and cid == contact_id}
            # (b) posted to the contact of the record's own account, never another account's
            if inv["InvoiceID"] in written and contact_id != own:
                bad.append(f"(b) {obj} {ref}: written to contact {contact_id} of {sorted(others)} in {key}")
            elif contact_id != own and not items:
                bad.append(f"(b) {obj} {ref}: on contact of {sorted(others)} in {key}, nothing queued")
            if not invoiceable(obj, rec):
                if not items and ref not in credited:
                    bad.append(
                        f"(4) {obj} {ref}: not invoiceable, invoice {inv['InvoiceNumber']} live, not queued"
                    )
                continue
            # routing: in the organisation its account's country names
            account = world.handle.salesforce.store.get("Account", rec.get("AccountId")) or {}
            want = expected_tenant(account.get("BillingCountry"))
            if inv["InvoiceID"] in written and want != key:
                bad.append(
                    f"(6) {obj} {ref}: written in {key}, its country {account.get('BillingCountry')!r} -> {want}"
                )
            elif want != key and not items:
                bad.append(
                    f"(6) {obj} {ref}: live in {key}, country {account.get('BillingCountry')!r} -> {want}"
                )
            # (a) Xero's invoice equals our arithmetic of the current source (unless the record waits)
            if items:
                continue
            bad += [f"(a) {obj} {ref} in {key}: {d}" for d in compare(world, st, key, obj, rec, inv)]
            STATS.compared += 1
    # (d) contacts this project did not create: unchanged, or only the fields invariant 1 allows
    masters = st.cfg.contacts.salesforce_masters() - {"Name"}
    for cid, was in foreign.items():
        key, now = st.contacts[cid]
        diff = {f for f in CONTACT_FIELDS if now.get(f) != was.get(f)}
        if not diff:
            continue
        origins = {o for (k, _), (x, o) in st.contact_links.items() if k == key and x == cid}
        strong = any((o or "").removeprefix("linked:") in STRONG_ORIGINS for o in origins)
        allowed = masters if strong else set()
        if diff - allowed:
            bad.append(f"(d) contact {cid} in {key} ({sorted(origins)}): changed {sorted(diff - allowed)}")
    # (e) no record both held by a blocking validation/matching item and written in this sync
    blocking = blocking_codes(st.cfg)
    for inv_id in written:
        key, inv = st.invoices[inv_id]
        held = [
            i.reason_code for i in st.queue.get(inv.get("Reference") or "", []) if i.reason_code in blocking
        ]
        if held:
            bad.append(f"(e) {inv.get('Reference')}: written in {key} while queued for {held}")
    # (7) a code that differs from a known one only in letter case or surrounding space is the same code
    by_tid = {v: k for k, v in st.tenants.items()}
    for items in st.queue.values():
        for i in items:
            tenant = by_tid.get(i.tenant_id)
            if i.value is None or tenant is None:
                continue
            if i.reason_code == "unmapped_tax_code":
                known = {_code_key(c) for c in st.cfg.tax.mapping.get(tenant, {})}
            elif i.reason_code == "unknown_tracking_option":
                org = world.handle.xero.org(i.tenant_id)
                known = {_code_key(o["Name"]) for c in org["tracking"] for o in c["Options"]}
            else:
                continue
            if _code_key(i.value) in known:
                bad.append(
                    f"(7) {i.reason_code} on {i.sf_id}: {i.value!r} is a known code but for case/space"
                )
    # (g) every open review item's hint is rendered
    for items in st.queue.values():
        for i in items:
            if i.hint and PLACEHOLDER.search(i.hint) and i.reason_code not in PENDING_HINTS:
                bad.append(f"(g) {i.reason_code} on {i.sf_id}: hint {i.hint!r}")
    return bad


def compare(world: World, st: State, key: str, obj: str, rec: dict, inv: dict) -> list[str]:
    want = our_arithmetic(world, st, key, obj, rec)
    out = []
    got_lines = inv.get("LineItems") or []
    if len(got_lines) != len(want["lines"]):
        return [f"{len(got_lines)} lines in Xero, {len(want['lines'])} in Salesforce"]
    for n, (got, exp) in enumerate(zip(got_lines, want["lines"], strict=True)):
        for f in ("Quantity", "UnitAmount", "DiscountRate"):
            if _dec(got.get(f)) != exp[f]:
                out.append(f"line {n} {f} {got.get(f)} != {exp[f]}")
        if got.get("TaxType") != exp["TaxType"]:
            out.append(f"line {n} TaxType {got.get('TaxType')} != {exp['TaxType']}")
    for f in ("SubTotal", "TotalTax", "Total"):
        if _dec(inv.get(f)) != want[f]:
            out.append(f"{f} {inv.get(f)} != {want[f]}")
    if inv.get("CurrencyCode") != (rec.get("CurrencyIsoCode") or "").strip().upper():
        out.append(f"currency {inv.get('CurrencyCode')} != {rec.get('CurrencyIsoCode')}")
    return out


def changed_documents(before: State, after: State) -> set[str]:
    """Invoices created in the sync, or whose content changed (a void alone does not count)."""
    fields = ("LineItems", "CurrencyCode", "Date", "Total", "Reference")
    out = set()
    for inv_id, (_, inv) in after.invoices.items():
        old = before.invoices.get(inv_id)
        if not live(inv):
            continue
        if (
            old is None
            or any(old[1].get(f) != inv.get(f) for f in fields)
            or old[1]["Contact"]["ContactID"] != inv["Contact"]["ContactID"]
        ):
            out.add(inv_id)
    return out


def foreign_contacts(st: State) -> dict[str, dict]:
    """The contacts in Xero before this project pushed anything: none of them is ours."""
    return {cid: {f: c.get(f) for f in CONTACT_FIELDS} for cid, (_, c) in st.contacts.items()}
