"""Xero document arithmetic and rendering, implemented independently of the production core.

The emulator is the oracle the pipeline is tested against, so it computes Xero's numbers itself
(LineAmount per line rounded to 2 dp, tax per line rounded to 2 dp and then summed) instead of reusing
``sfxero_dagster.core.xero_math``; a test cross-checks the two.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .wire import iso_date_to_ms, ms_date, prune

D0 = Decimal("0.00")
CENT = Decimal("0.01")
DATE_FIELDS = {"Date", "DueDate", "FullyPaidOnDate", "ExpectedPaymentDate", "PlannedPaymentDate"}


def r2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def unit(x: Decimal, unitdp: int) -> Decimal:
    return x.quantize(Decimal("0.0001") if unitdp == 4 else CENT, rounding=ROUND_HALF_UP)


def quantity(x: Decimal) -> Decimal:
    """Xero keeps 4 dp of a quantity (xero-python cassettes render ``Quantity: 1.0000``; integrators report
    the fifth decimal dropped). Half-up, as for unit amounts."""
    return x.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def discount_rate(x: Decimal) -> Decimal:
    """Xero keeps 2 dp of a DiscountRate (cassettes: ``DiscountRate: 10.00``)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def compute_lines(
    lines: list[dict], amount_types: str, rates: dict[str, Decimal], unitdp: int
) -> dict[str, Decimal]:
    """Fill LineAmount/TaxAmount on ``lines`` in place and return SubTotal, TotalTax, Total, TotalDiscount.

    Quantity, UnitAmount and DiscountRate are stored at the precision Xero keeps, and the amounts are
    computed from the stored values."""
    gross_sum = tax_sum = discount_sum = D0
    for li in lines:
        qty = quantity(Decimal(str(li.get("Quantity", "1"))))
        if li.get("DiscountRate") is not None:
            li["DiscountRate"] = discount_rate(Decimal(str(li["DiscountRate"])))
        if "UnitAmount" not in li and "LineAmount" in li and qty:
            li["UnitAmount"] = Decimal(str(li["LineAmount"])) / qty
        price = unit(Decimal(str(li.get("UnitAmount", "0"))), unitdp)
        li["Quantity"] = qty
        li["UnitAmount"] = price
        gross = qty * price
        if li.get("DiscountRate") is not None:
            amount = r2(gross * (Decimal(100) - Decimal(str(li["DiscountRate"]))) / Decimal(100))
        elif li.get("DiscountAmount") is not None:
            amount = r2(gross - Decimal(str(li["DiscountAmount"])))
        else:
            amount = r2(gross)
        discount_sum += r2(gross) - amount
        rate = rates.get(li.get("TaxType", ""), Decimal(0)) / Decimal(100)
        if amount_types == "NoTax" or not rate:
            tax = D0
        elif amount_types == "Inclusive":
            tax = r2(amount * rate / (Decimal(1) + rate))
        else:
            tax = r2(amount * rate)
        li["LineAmount"] = amount
        li["TaxAmount"] = tax
        gross_sum += amount
        tax_sum += tax
    if amount_types == "Inclusive":
        return {
            "SubTotal": gross_sum - tax_sum,
            "TotalTax": tax_sum,
            "Total": gross_sum,
            "TotalDiscount": discount_sum,
        }
    return {
        "SubTotal": gross_sum,
        "TotalTax": tax_sum,
        "Total": gross_sum + tax_sum,
        "TotalDiscount": discount_sum,
    }


def render(record: dict[str, Any], *, unitdp: int = 2, with_lines: bool = True) -> dict[str, Any]:
    """Internal record → API JSON: .NET dates, 2 dp money (4 dp unit amounts with unitdp=4), no nulls."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("_"):
            continue
        if key == "LineItems":
            if with_lines:
                out[key] = [_render_line(li, unitdp) for li in value]
            continue
        if key in DATE_FIELDS and isinstance(value, str):
            out[key] = ms_date(iso_date_to_ms(value))
            out[key + "String"] = f"{value[:10]}T00:00:00"
        elif key == "UpdatedDateUTC" and isinstance(value, int):
            out[key] = ms_date(value)
        elif isinstance(value, dict):
            out[key] = render(value, unitdp=unitdp, with_lines=with_lines)
        elif isinstance(value, list):
            out[key] = [
                render(v, unitdp=unitdp, with_lines=with_lines) if isinstance(v, dict) else v for v in value
            ]
        else:
            out[key] = value
    return prune(out)


def _render_line(li: dict, unitdp: int) -> dict:
    out = {k: v for k, v in li.items() if not k.startswith("_")}
    if "UnitAmount" in out:
        out["UnitAmount"] = unit(Decimal(out["UnitAmount"]), unitdp)
    return prune(out)
