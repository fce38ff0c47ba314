"""One runner for the sync cycle: named selections in data-path order, and how each is run.

The demo, ``sfxero queue retry``, the benchmarks, the soak and the tests' worlds all drive the same
cycle, each a different part of it, in-process, into a Dagster instance:

    extract (Salesforce, daily partitions) -> reference (Xero snapshots) -> stage (staging, validation,
    matching) -> push (per organisation) -> writeback (Xero ids, then each organisation's invoice and
    payment status, then reconciliation) -> queue (the review queue)

``IDS`` and ``RECONCILE`` name single steps of the write-back for drivers that run them apart (the demo
runs the status write-back from the payment sensors' ticks in between).

A history extract is one run over the whole partition range (``BackfillPolicy.single_run``, the
``dagster/asset_partition_range_*`` tags); a delta extract is today's partition.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg

from sfxero_dagster.config import Settings, SfxeroConfig, load_settings

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # step chatter off; events stay


def keys(*user_strings: str) -> dg.AssetSelection:
    """Assets by ``a/b/c`` keys (``AssetSelection.keys`` is deprecated; ``assets`` takes AssetKeys)."""
    return dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in user_strings))


# The named selections of the cycle, in data-path order.
EXTRACT = dg.AssetSelection.groups("salesforce_extract")
REFERENCE = dg.AssetSelection.groups("xero_reference")
STAGE = dg.AssetSelection.groups("staging", "matching")
PUSH = dg.AssetSelection.groups("push")
IDS = keys("salesforce/xero_ids")
WRITEBACK = dg.AssetSelection.groups("writeback")
RECONCILE = keys("reconciliation")
QUEUE = dg.AssetSelection.groups("operations")
# what follows the extract when a person fixed records (``sfxero queue retry``)
DOWNSTREAM = STAGE | PUSH | WRITEBACK | QUEUE
CYCLE: tuple[tuple[str, dg.AssetSelection], ...] = (
    ("extract", EXTRACT),
    ("reference", REFERENCE),
    ("stage", STAGE),
    ("push", PUSH),
    ("writeback", WRITEBACK),
    ("queue", QUEUE),
)


def tenant_pushes(config: SfxeroConfig) -> list[str]:
    """Every organisation's contacts then invoices push, as asset keys."""
    return [f"xero/{t.key}/{c}" for c in ("contacts", "invoices") for t in config.xero.tenants]


def tenant_statuses(config: SfxeroConfig) -> list[str]:
    """Every organisation's invoice and payment status write-back, as asset keys."""
    return [f"salesforce/{t.key}/invoice_status" for t in config.xero.tenants]


def sync_keys(config: SfxeroConfig) -> list[str]:
    """Push to every organisation, Xero ids to Salesforce, invoice and payment status: a scheduled sync."""
    return [*tenant_pushes(config), "salesforce/xero_ids", *tenant_statuses(config)]


def history_tags(config: SfxeroConfig) -> dict[str, str]:
    """Tags of one run over every daily partition (the history backfill, ``BackfillPolicy.single_run``)."""
    from sfxero_dagster.defs.partitions import daily_partitions

    keys = daily_partitions(config).get_partition_keys()
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


def selection_of(selection: str | Sequence[str] | dg.AssetSelection) -> dg.AssetSelection | str:
    """Asset keys written as ``a/b/c`` strings become a key selection; anything else passes through."""
    if not isinstance(selection, dg.AssetSelection | str):  # an AssetSelection is a tuple underneath
        return keys(*selection)
    return selection


def default_instance() -> dg.DagsterInstance:
    """The instance under ``DAGSTER_HOME`` when set (runs show in the UI), else an ephemeral one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


class Runner:
    """Materialises selections of this configuration's assets in-process, with its resources.

    Built from :class:`Settings` parsed once; build a new runner after changing the configuration file.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        instance: dg.DagsterInstance | None = None,
        *,
        quiet: bool = False,
        raise_on_error: bool = True,
        tags: dict[str, str] | None = None,
    ) -> None:
        from sfxero_dagster.definitions import domain_defs
        from sfxero_dagster.defs.resources import build_resources

        self.settings = settings or load_settings()
        self.config = self.settings.config
        self.instance = instance if instance is not None else default_instance()
        self.assets = [a for d in domain_defs(self.config) for a in d.assets or []]
        self.resources = build_resources(self.settings)
        self.quiet, self.raise_on_error, self.tags = quiet, raise_on_error, dict(tags or {})

    def run(
        self,
        selection: str | Sequence[str] | dg.AssetSelection,
        *,
        tags: dict[str, str] | None = None,
        raise_on_error: bool | None = None,
        **kwargs: Any,
    ) -> dg.ExecuteInProcessResult:
        """One run of ``selection`` (``partition_key=`` for one partition)."""
        if self.quiet:
            kwargs.setdefault("run_config", QUIET)
        return dg.materialize(
            self.assets,
            selection=selection_of(selection),
            resources=self.resources,
            instance=self.instance,
            tags={**self.tags, **(tags or {})},
            raise_on_error=self.raise_on_error if raise_on_error is None else raise_on_error,
            **kwargs,
        )

    def extract_history(
        self, selection: dg.AssetSelection = EXTRACT, **kwargs: Any
    ) -> dg.ExecuteInProcessResult:
        """All history in one run: the whole partition range."""
        return self.run(selection, tags={**history_tags(self.config), **kwargs.pop("tags", {})}, **kwargs)

    def extract_day(
        self, day: str, selection: str | Sequence[str] | dg.AssetSelection = EXTRACT, **kwargs: Any
    ) -> dg.ExecuteInProcessResult:
        """One day's partition (a delta extract: only what changed since the watermark)."""
        return self.run(selection, partition_key=day, **kwargs)

    def cycle(
        self, steps: Iterable[str] = tuple(name for name, _ in CYCLE), **kwargs: Any
    ) -> list[dg.ExecuteInProcessResult]:
        """The named steps in data-path order; the extract takes the whole history."""
        chosen = set(steps)
        out = []
        for name, selection in CYCLE:
            if name in chosen:
                out.append(
                    self.extract_history(**kwargs) if name == "extract" else self.run(selection, **kwargs)
                )
        return out
