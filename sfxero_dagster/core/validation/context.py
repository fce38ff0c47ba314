"""What the invoice checks share: the rejects so far, the headers and, once joined, their lines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sfxero_dagster.config import SfxeroConfig
from sfxero_dagster.core.validation.reference import TenantReference
from sfxero_dagster.core.validation.rejects import (
    Rejects,
)


def mask(values: list[bool], index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype=bool)


@dataclass
class InvoiceChecks:
    """What the steps share: the rejects so far, the headers and (once joined) their lines."""

    r: Rejects
    h: pd.DataFrame
    config: SfxeroConfig
    references: Mapping[str, TenantReference]
    hk: dict[str, Any] = field(default_factory=dict)
    refs: list[TenantReference | None] = field(default_factory=list)
    ln: pd.DataFrame = field(default_factory=pd.DataFrame)
    lk: dict[str, Any] = field(default_factory=dict)
    line_refs: list[TenantReference | None] = field(default_factory=list)
    customers: pd.DataFrame | None = None
    amounts: dict[str, pd.Series] = field(default_factory=dict)
