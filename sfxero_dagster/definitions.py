"""The one place that assembles assets, checks, sensors, jobs and resources.

Each domain module under ``sfxero_dagster.defs`` builds its definitions from the configuration
(tenants, partitions, mapped fields); this module merges them, in data-path order, with the
environment's resources (see ``defs/resources.py``). The configuration is parsed once here
(``config.load_settings``: ``SFXERO_ENV`` and ``SFXERO_CONFIG``) and handed to both.
"""

from __future__ import annotations

import dagster as dg

from sfxero_dagster.config import Settings, SfxeroConfig, load_settings
from sfxero_dagster.defs.matching.assets import matching_defs
from sfxero_dagster.defs.operations.assets import operations_defs
from sfxero_dagster.defs.push.assets import push_defs
from sfxero_dagster.defs.resources import build_resources
from sfxero_dagster.defs.salesforce.assets import salesforce_defs
from sfxero_dagster.defs.staging.assets import staging_defs
from sfxero_dagster.defs.writeback.assets import writeback_defs
from sfxero_dagster.defs.writeback.payments import payment_defs
from sfxero_dagster.defs.xero.assets import xero_defs


def domain_defs(config: SfxeroConfig) -> list[dg.Definitions]:
    """Extract -> reference snapshots -> stage and validate -> match -> push -> write back."""
    return [
        salesforce_defs(config),
        xero_defs(config),
        staging_defs(config),
        matching_defs(config),
        push_defs(config),
        writeback_defs(config),
        payment_defs(config),
        operations_defs(config),
    ]


def build_definitions(config_path: str | None = None, settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings(config_path)
    return dg.Definitions.merge(
        *domain_defs(settings.config), dg.Definitions(resources=build_resources(settings))
    )


defs = build_definitions()
