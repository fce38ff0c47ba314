"""A delta extract costs its query pages only: describes are kept for a day, refreshed when a field is new."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from sfxero_dagster.defs.salesforce.assets import described_scales, field_types
from sfxero_dagster.store.warehouse import Warehouse

from .conftest import World


class CountingClient:
    def __init__(self, fields: dict[str, str], scales: dict[str, int] | None = None) -> None:
        self.fields, self.scales, self.describes = fields, scales or {}, 0

    def describe(self, object_name: str) -> dict:
        self.describes += 1
        return {
            "name": object_name,
            "fields": [
                {"name": n, "type": t, **({"scale": self.scales[n]} if n in self.scales else {})}
                for n, t in self.fields.items()
            ],
        }


def test_describe_is_cached_for_a_day_and_refreshed_for_a_new_field(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    client = CountingClient({"Id": "id", "Amount": "currency"})
    now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert field_types(client, wh, "Opportunity", ["Amount"], now) == {"Id": "id", "Amount": "currency"}
    assert field_types(client, wh, "Opportunity", ["Amount"], now + timedelta(hours=23)) == client.fields
    assert client.describes == 1
    client.fields["Tax_Code__c"] = "picklist"  # an admin created the field after our last describe
    assert (
        field_types(client, wh, "Opportunity", ["Amount", "Tax_Code__c"], now + timedelta(hours=1))[
            "Tax_Code__c"
        ]
        == "picklist"
    )
    assert client.describes == 2
    field_types(client, wh, "Opportunity", ["Amount"], now + timedelta(hours=26))  # a day old: asked again
    assert client.describes == 3
    field_types(client, wh, "Account", ["Id"], now)  # per object
    assert client.describes == 4


def test_a_delta_extract_asks_salesforce_for_query_pages_only(prepared_world: World) -> None:
    world = prepared_world
    log = world.handle.salesforce.request_log
    log.clear()
    today = world.handle.clock.now().astimezone(UTC).date().isoformat()
    world.materialize(dg.AssetSelection.groups("salesforce_extract"), partition_key=today)
    paths = [r["path"] for r in log]
    assert any("/query" in p for p in paths)
    assert not [p for p in paths if p.endswith("/describe")], paths


def test_the_cached_describe_keeps_numeric_scales_and_an_older_row_without_them_is_refreshed(
    tmp_path: Path,
) -> None:
    wh = Warehouse(tmp_path / "wh.duckdb")
    now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    # a row cached before scales were kept (name -> type only)
    wh.merge(
        "sf_describes",
        pd.DataFrame(
            [
                {
                    "object": "OrderItem",
                    "types": json.dumps({"Quantity": "double"}),
                    "fetched_at": now.isoformat(),
                }
            ]
        ),
        key="object",
        version="fetched_at",
    )
    assert described_scales(wh) == {}  # nothing known yet: staging falls back to Xero's precision
    client = CountingClient(
        {
            "Id": "id",
            "Quantity": "double",
            "UnitPrice": "currency",
            "Discount__c": "percent",
            "Name": "string",
        },
        {"Id": 0, "Quantity": 2, "UnitPrice": 2, "Discount__c": 2, "Name": 0},
    )
    field_types(client, wh, "OrderItem", ["Quantity"], now + timedelta(minutes=5))
    assert client.describes == 1  # fresh, but without scales: described again
    field_types(client, wh, "OrderItem", ["Quantity"], now + timedelta(minutes=10))
    assert client.describes == 1  # now cached with them
    # a describe without scale for a field (or a client that gives none) leaves the field out
    field_types(CountingClient({"Amount": "currency"}), wh, "Opportunity", ["Amount"], now)
    assert described_scales(wh) == {
        "OrderItem": {"Quantity": 2, "UnitPrice": 2, "Discount__c": 2},
        "Opportunity": {},
    }
