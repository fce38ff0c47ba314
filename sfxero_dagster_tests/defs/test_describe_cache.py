"""A delta extract costs its query pages only: describes are kept for a day, refreshed when a field is new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from sfxero_dagster.core.warehouse import Warehouse
from sfxero_dagster.defs.salesforce.assets import field_types

from .conftest import World


class CountingClient:
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields, self.describes = fields, 0

    def describe(self, object_name: str) -> dict:
        self.describes += 1
        return {"name": object_name, "fields": [{"name": n, "type": t} for n, t in self.fields.items()]}


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
