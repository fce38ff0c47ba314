"""No secret (client secrets, passwords, tokens) appears in logs, event records, metadata or the ledger."""

from __future__ import annotations

import json

import dagster as dg

from .conftest import World
from .test_push import PUSH


def test_no_secret_in_logs_events_metadata_or_ledger(prepared_world: World, capfd) -> None:
    world = prepared_world
    runs = [
        world.materialize(PUSH),
        world.materialize(dg.AssetSelection.groups("writeback", "operations")),
    ]
    x, sf = world.handle.xero.info(), world.handle.salesforce.info()
    token_file = json.loads((world.state_dir / "xero_token.json").read_text())
    secrets = {
        x["client_secret"],
        sf["consumer_secret"],
        sf["password"],
        sf["security_token"],
        token_file["refresh_token"],
        token_file["access_token"],
    }
    assert all(len(s) >= 8 for s in secrets)
    texts = []
    for result in runs:
        for record in world.instance.all_logs(result.run_id):
            texts.append(record.user_message or "")
            if record.dagster_event:
                texts.append(repr(record.dagster_event.event_specific_data))
    with world.ledger._tx() as con:
        for table in ("events", "review_queue", "intents", "links"):
            texts.append(con.execute(f"SELECT * FROM {table}").df().to_csv())
    captured = capfd.readouterr()
    texts += [captured.out, captured.err]
    blob = "\n".join(texts)
    assert len(blob) > 10_000  # we did look at a lot of output
    for secret in secrets:
        assert secret not in blob
