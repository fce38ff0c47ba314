"""The one place that assembles assets, checks, sensors, jobs and resources.

Each domain module under ``sfxero_dagster.defs`` exposes its own definitions; this module merges them
with the environment's resources (see ``defs/resources.py``).
"""

from __future__ import annotations

import dagster as dg

from sfxero_dagster.defs.resources import build_resources

DOMAIN_DEFS: list[dg.Definitions] = []


def build_definitions() -> dg.Definitions:
    return dg.Definitions.merge(*DOMAIN_DEFS, dg.Definitions(resources=build_resources()))


defs = build_definitions()
