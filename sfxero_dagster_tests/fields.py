"""Is a queue item's ``field`` real? (core.reasons' convention) Salesforce fields against the sandbox's
Salesforce schema, config keys against the repository's sfxero.yaml as parsed by the pydantic model.
Tests may import the sandbox; production code never does."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from sfxero_dagster.core.reasons import field_kind

from .conftest import REPO_ROOT

LINE_OBJECTS = {"Opportunity": "OpportunityLineItem", "Order": "OrderItem"}
XERO_NAMES = {"Invoice", "Contact", "Item", "CreditNote", "InvoiceNumber"}


@cache
def _schema():
    from sfxero_dagster.sandbox.salesforce.schema import load_schema

    return load_schema()


@cache
def _config_dump() -> dict[str, Any]:
    from sfxero_dagster.config import load_config

    return load_config(REPO_ROOT / "sfxero.yaml").model_dump()


def _config_path_exists(path: str) -> bool:
    node: Any = _config_dump()
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(node, list) or i >= len(node):
                return False
            node = node[i]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _sf_field_exists(sobject: str, name: str) -> bool:
    schema = _schema()
    if "." in name:
        sobject, name = name.split(".", 1)
    obj = schema.get(sobject)
    return obj is not None and (obj.field(name) is not None or obj.child(name) is not None)


def field_problem(field: str | None, sf_object: str, line: bool = False) -> str | None:
    """None if ``field`` is real for an item on ``sf_object`` (its line object when ``line``), else why."""
    if not field:
        return "no field"
    kind, name = field_kind(field)
    if kind == "config":
        return None if _config_path_exists(name) else f"{name!r} is not a key in sfxero.yaml"
    if kind == "xero":
        return None if name in XERO_NAMES else f"{name!r} is not a Xero name we use"
    sobject = LINE_OBJECTS.get(sf_object, sf_object) if line else sf_object
    return None if _sf_field_exists(sobject, name) else f"{name!r} is not a field of {sobject}"
