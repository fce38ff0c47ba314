"""Reject rows from boolean masks: reason code, severity, field, value and rendered hint per record.

Shared by the customer and invoice checks; the masks are vectorised, so a million lines validate in
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.reasons import hint as reason_hint
from sfxero_dagster.core.reasons import reason

REJECT_COLUMNS = [
    "sf_object",
    "sf_id",
    "tenant_key",
    "reason_code",
    "severity",
    "field",
    "value",
    "line_id",
    "hint",
]
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PRINTABLE_ASCII = r"^[\x20-\x7e]*$"


@dataclass
class ValidationResult:
    valid: pd.DataFrame
    rejects: pd.DataFrame
    valid_lines: pd.DataFrame | None = None

    def counts_by_reason(self) -> dict[str, int]:
        if self.rejects.empty:
            return {}
        return self.rejects.groupby("reason_code")["sf_id"].nunique().sort_index().to_dict()


class Rejects:
    """Collects reject rows from boolean masks, filling severity and hints from the reason catalogue."""

    def __init__(self, config: SfxeroConfig) -> None:
        self._frames: list[pd.DataFrame] = []
        self._severity = dict(config.validation.severity)

    def severity(self, code: str) -> str:
        return self._severity.get(code, reason(code).severity)

    def add(
        self,
        df: pd.DataFrame,
        mask: pd.Series,
        code: str,
        field_name: str | pd.Series,
        *,
        sf_object: str | pd.Series,
        id_col: str,
        value_col: str | None = None,
        line_col: str | None = None,
        **hint_values: object,
    ) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        hit = df.loc[mask]
        values = hit[value_col] if value_col else pd.Series([None] * len(hit), index=hit.index)
        obj = sf_object.loc[mask] if isinstance(sf_object, pd.Series) else sf_object
        fields = field_name.loc[mask] if isinstance(field_name, pd.Series) else field_name
        frame = pd.DataFrame(
            {
                "sf_object": obj,
                "sf_id": hit[id_col],
                "tenant_key": hit.get("tenant_key"),
                "reason_code": code,
                "severity": self.severity(code),
                "field": fields,
                "value": values.map(
                    lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                ),
                "line_id": hit[line_col] if line_col else None,
            }
        )
        # Series-valued hint values vary per row (e.g. the expected total); others are constants.
        per_row = {k: v.loc[mask].tolist() for k, v in hint_values.items() if isinstance(v, pd.Series)}
        const = {k: v for k, v in hint_values.items() if not isinstance(v, pd.Series)}
        frame["hint"] = [
            reason_hint(code, field=f, value=v, **const, **{k: vals[i] for k, vals in per_row.items()})
            for i, (f, v) in enumerate(zip(frame["field"].tolist(), frame["value"].tolist(), strict=True))
        ]
        self._frames.append(frame)

    def frame(self) -> pd.DataFrame:
        if not self._frames:
            return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECT_COLUMNS})
        out = pd.concat(self._frames, ignore_index=True)[REJECT_COLUMNS]
        return out.drop_duplicates(
            subset=["sf_object", "sf_id", "reason_code", "field", "line_id"]
        ).reset_index(drop=True)


def too_long(s: pd.Series, limit: int) -> pd.Series:
    return s.fillna("").astype(str).str.len() > limit


def length(s: pd.Series) -> pd.Series:
    return s.fillna("").astype(str).str.len()


def blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


def by_source(source: pd.Series, **fields: str) -> pd.Series:
    """A field name per row from the record's source ('opportunity' or 'order')."""
    return source.map(fields)


def round2(values: pd.Series) -> pd.Series:
    """Half-up rounding to cents on floats (tolerance checks only; exact pushes use core.xero_math)."""
    return np.sign(values) * np.floor(np.abs(values) * 100 + 0.5 + 1e-9) / 100


def round2_unit(values: pd.Series) -> pd.Series:
    return np.sign(values) * np.floor(np.abs(values) * 10_000 + 0.5 + 1e-9) / 10_000
