"""Field rules of a record write: which fields a client may set, each value's type and range as
Salesforce checks them (numbers kept as written, not rounded to scale), required and unique fields,
and the formula fields Salesforce computes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..ids import is_valid_id, normalise_id
from ..schema import FieldDef, ObjectDef
from ..soql import SF_DATETIME
from .org import Org


def check(org: Org, obj: ObjectDef, values: dict[str, Any], existing: dict | None) -> tuple[dict, list[dict]]:
    """Validate client-supplied values; returns (clean values, SaveResult errors)."""
    clean: dict[str, Any] = {}
    errors: list[dict] = []

    def err(code: str, message: str, fields: list[str]) -> None:
        errors.append({"statusCode": code, "message": message, "fields": fields})

    for key, value in values.items():
        if key == "attributes":
            continue
        f = obj.field(key)
        if f is None:
            lookup = obj.relationship(key)
            if lookup is not None and isinstance(value, dict):  # {"Account": {"Ext__c": "A-1"}}
                target = org.obj(lookup.reference_to[0])
                matches = org.match_external(target, value)
                if len(matches) != 1:
                    err(
                        "INVALID_FIELD",
                        f"Foreign key external ID: {value} not found for field in entity {target.name}",
                        [key],
                    )
                else:
                    clean[lookup.name] = matches[0]["Id"]
                continue
            err("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", [key])
            continue
        if f.system or f.readonly:
            if (
                f.name == "Id"
                and existing is not None
                and value
                and normalise_id(str(value)) == existing["Id"]
            ):
                continue
            err(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                [f.name],
            )
            continue
        try:
            clean[f.name] = coerce(org, f, value)
        except ValueError as exc:
            code, _, message = str(exc).partition(":")
            err(code, message.strip(), [f.name])
    merged = {**(existing or {}), **clean}
    if existing is None:
        missing = [
            f.name
            for f in obj.fields.values()
            if f.required and f.createable and merged.get(f.name) in (None, "")
        ]
        if missing:
            err("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
    for f in obj.fields.values():
        if f.unique and clean.get(f.name) not in (None, ""):
            for other in org.store.find(obj.name, f.name, clean[f.name]):
                if other["Id"] != (existing or {}).get("Id"):
                    err(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {other['Id']}",
                        [f.name],
                    )
                    break
    return clean, errors


def coerce(org: Org, f: FieldDef, value: Any) -> Any:
    """One client-supplied value as stored, or ``ValueError("CODE: message")``.

    Numbers (double, currency, percent) are stored exactly as written, not rounded to the field's
    scale. Salesforce applies a field's decimal places only when a user edits it in its own UI; a
    value written through the API (REST, Apex, Bulk/Data Loader) is kept and read back with all its
    decimals, for standard and custom fields alike (Salesforce Knowledge Articles 000212661 and
    000387302, "number field stores more decimal places than defined"; 000385689, "Salesforce
    does not round values provided through the API"). A value with more integer digits than
    precision - scale is refused (NUMBER_OUTSIDE_VALID_RANGE).
    """
    if value is None or value == "":
        if f.type == "boolean":
            raise ValueError(
                f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value!r}"
            )
        return None
    if f.type == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):  # CSV (Bulk 2.0) sends text
            return str(value).lower() == "true"
        raise ValueError(f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}")
    if f.type in ("double", "currency", "percent", "int"):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():  # "NaN" and "Infinity" parse as Decimals but are no numbers
            raise ValueError(
                f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}"
            )
        if (
            f.precision
            and f.scale is not None
            # integer digits from the exponent: int() of 1E+999999999 would build a billion digits
            and max(number.adjusted() + 1, 1) > f.precision - (f.scale or 0)
        ):
            raise ValueError(
                f"NUMBER_OUTSIDE_VALID_RANGE: {f.name}: value outside of valid range on numeric field: {value}"
            )
        return number
    if f.type == "date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise ValueError(
                f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}"
            ) from None
    if f.type == "datetime":
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("+0000", "+00:00"))
        except ValueError:
            raise ValueError(
                f"INVALID_TYPE_ON_FIELD_IN_RECORD: {f.name}: value not of required type: {value}"
            ) from None
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC).strftime(SF_DATETIME)
    text = str(value)
    if f.type == "reference":
        if not is_valid_id(text):
            raise ValueError(f"MALFORMED_ID: {f.name}: id value of incorrect type: {text}")
        rid = normalise_id(text)
        target = next((t for t in f.reference_to if org.store.get(t, rid)), None)
        if target is None:
            raise ValueError(f"INVALID_CROSS_REFERENCE_KEY: {f.name}: invalid cross reference id")
        return rid
    if f.length and len(text) > f.length:
        raise ValueError(
            f"STRING_TOO_LONG: {f.name}: data value too large: {text[:40]}... (max length={f.length})"
        )
    if f.type == "picklist" and f.restricted and text not in f.picklist:
        raise ValueError(
            f"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: {f.name}: bad value for restricted picklist field: {text}"
        )
    if f.type == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        raise ValueError(f"INVALID_EMAIL_ADDRESS: {f.name}: invalid email address: {text}")
    return text


def derive(org: Org, obj: ObjectDef, rec: dict) -> None:
    """Formula and system-computed fields."""
    name = obj.name
    if name == "Opportunity":
        stage = rec.get("StageName")
        rec["IsClosed"] = stage in ("Closed Won", "Closed Lost")
        rec["IsWon"] = stage == "Closed Won"
    elif name in ("OpportunityLineItem", "OrderItem"):
        q, p = rec.get("Quantity"), rec.get("UnitPrice")
        if q is not None and p is not None:
            disc = Decimal(str(rec.get("Discount") or 0)) if name == "OpportunityLineItem" else Decimal(0)
            rec["TotalPrice"] = (
                Decimal(str(q)) * Decimal(str(p)) * (Decimal(100) - disc) / Decimal(100)
            ).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # Salesforce rounds currency half up
    elif name == "Contact" or name == "User":
        rec["Name"] = " ".join(x for x in (rec.get("FirstName"), rec.get("LastName")) if x)
    elif name == "PricebookEntry":
        product = org.store.get("Product2", rec.get("Product2Id") or "")
        if product:
            rec["Name"], rec["ProductCode"] = product.get("Name"), product.get("ProductCode")
