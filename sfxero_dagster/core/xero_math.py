"""Xero's invoice arithmetic, computed before sending so that a total Xero would disagree with is caught.

Xero computes ``LineAmount`` per line (rounded to 2 dp), then tax **per line** rounded to 2 dp, then sums
(developer.xero.com "Rounding in Xero"). Salesforce computes discounts per line too but never taxes, so
the only way to know the invoice total Xero will post is to do Xero's arithmetic ourselves. Unit amounts
keep 4 dp when sent with ``unitdp=4``; quantities 4 dp and discount rates 2 dp (what Xero keeps of a line:
xero-python's cassettes show ``Quantity: 1.0000`` and ``DiscountRate: 10.00``; integrators report the fifth
quantity decimal and the third percentage decimal dropped); totals are always 2 dp. Half-up rounding (ties
away from zero) is assumed; the docs do not settle it, and the emulator tests cross-check the choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

LineAmountType = Literal["Exclusive", "Inclusive", "NoTax"]

CENT = Decimal("0.01")
UNIT_4DP = Decimal("0.0001")
QUANTITY_PLACES = 4
UNIT_PLACES = 4  # with unitdp=4, which every call of ours passes
DISCOUNT_PLACES = 2
MAX_LINE_AMOUNT = Decimal("9999999999.99")


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_unit(value: Decimal, unitdp: int = 4) -> Decimal:
    """Unit amounts: 4 dp with ``unitdp=4``, else Xero rounds them to 2 dp."""
    return value.quantize(UNIT_4DP if unitdp == 4 else CENT, rounding=ROUND_HALF_UP)


def round_quantity(value: Decimal) -> Decimal:
    """Quantities as Xero keeps them: 4 dp."""
    return value.quantize(Decimal(1).scaleb(-QUANTITY_PLACES), rounding=ROUND_HALF_UP)


def round_discount(value: Decimal) -> Decimal:
    """Discount rates (percent) as Xero keeps them: 2 dp."""
    return value.quantize(Decimal(1).scaleb(-DISCOUNT_PLACES), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    unit_amount: Decimal
    tax_rate: Decimal = Decimal(0)  # the TaxType's EffectiveRate in percent, e.g. 10 for AU GST
    discount_rate: Decimal | None = None  # percent
    discount_amount: Decimal | None = None  # absolute, per line


@dataclass(frozen=True)
class LineResult:
    line_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    lines: tuple[LineResult, ...]


def line_amount(line: Line, unitdp: int = 4) -> Decimal:
    if line.discount_rate is not None and line.discount_amount is not None:
        raise ValueError("a line takes DiscountRate or DiscountAmount, not both")
    gross = round_quantity(line.quantity) * round_unit(line.unit_amount, unitdp)
    if line.discount_rate is not None:
        return round2(gross * (Decimal(100) - round_discount(line.discount_rate)) / Decimal(100))
    if line.discount_amount is not None:
        return round2(gross - line.discount_amount)
    return round2(gross)


def line_tax(amount: Decimal, tax_rate: Decimal, mode: LineAmountType) -> Decimal:
    if mode == "NoTax" or not tax_rate:
        return Decimal("0.00")
    rate = tax_rate / Decimal(100)
    if mode == "Exclusive":
        return round2(amount * rate)
    return round2(amount * rate / (Decimal(1) + rate))


def invoice_totals(
    lines: Sequence[Line] | Iterable[Line], mode: LineAmountType = "Exclusive", unitdp: int = 4
) -> Totals:
    """Totals as Xero will compute them for these lines."""
    results = []
    for ln in lines:
        amount = line_amount(ln, unitdp)
        results.append(LineResult(amount, line_tax(amount, ln.tax_rate, mode)))
    gross = sum((r.line_amount for r in results), Decimal("0.00"))
    tax = sum((r.tax_amount for r in results), Decimal("0.00"))
    if mode == "Inclusive":
        return Totals(sub_total=gross - tax, total_tax=tax, total=gross, lines=tuple(results))
    return Totals(sub_total=gross, total_tax=tax, total=gross + tax, lines=tuple(results))


def amount_due(total: Decimal, amount_paid: Decimal, amount_credited: Decimal) -> Decimal:
    return round2(total - amount_paid - amount_credited)
