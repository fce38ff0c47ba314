"""Numbers at the precision they are kept: the Salesforce field's scale first, then Xero's.

Salesforce keeps every decimal a number is written with through the API (REST, Bulk, Data Loader) and
applies the field's scale (describe ``scale``) only in its own UI, so a quantity of 0.00001 on a field of
scale 2 reaches us as it was typed while a person sees 0.00. Xero keeps quantities at 4 dp, unit amounts
at 4 dp (``unitdp=4``) and discount rates at 2 dp (:mod:`sfxero_dagster.core.xero_math`). Staging rounds
every amount to both, in that order, so validation, the payload and the totals all see the value that
would really be invoiced, and a line that rounds to nothing is caught before Xero posts a 0.00 invoice.

Arithmetic is ``Decimal`` from the shortest ``repr`` of the float (never the binary expansion), half-up.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd


def to_decimal(value: object) -> Decimal | None:
    """A float/int/str/Decimal as the Decimal a person wrote (``0.1`` is ``Decimal('0.1')``); None for NaN."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return None if not math.isfinite(value) else Decimal(repr(value))
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return None
    return d if d.is_finite() else None


def round_half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def kept(value: object, sf_scale: int | None, xero_places: int) -> Decimal | None:
    """``value`` as it is kept: rounded to the Salesforce field's scale (when describe gave one), then to
    Xero's places. Two steps, not one, because that is what happens to it: Salesforce shows (and a person
    re-saving the record stores) the scaled value, and Xero then keeps its own places of that."""
    d = to_decimal(value)
    if d is None:
        return None
    if sf_scale is not None and sf_scale >= 0:
        d = round_half_up(d, sf_scale)
    return round_half_up(d, xero_places)


def kept_series(values: pd.Series, sf_scale: int | None, xero_places: int) -> pd.Series:
    """:func:`kept` over a column; floats out (staging's type), exact to their shortest repr.

    Values already at the precision kept (nearly all) pass through without Decimal: ``v`` is kept as is
    when ``rint(v * 10**p) / 10**p == v`` exactly, i.e. ``v`` is the float of a decimal with at most ``p``
    places (so its shortest repr is that decimal, and both roundings leave it unchanged)."""
    v = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    places = xero_places if sf_scale is None or sf_scale < 0 else min(sf_scale, xero_places)
    factor = 10.0**places
    with np.errstate(invalid="ignore", over="ignore"):
        at_precision = np.isfinite(v) & (np.rint(v * factor) / factor == v)
    out = np.where(np.isfinite(v), v, math.nan)
    for i in np.flatnonzero(~at_precision & np.isfinite(v)):
        d = kept(float(v[i]), sf_scale, xero_places)
        out[i] = float(d) if d is not None else math.nan
    return pd.Series(out, index=values.index, dtype="float64")


def text(value: object) -> str | None:
    """A number as a person reads it (``0.00001``, not ``1e-05``)."""
    d = to_decimal(value)
    if d is None:
        return None
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s and "e" not in s.lower() else s
