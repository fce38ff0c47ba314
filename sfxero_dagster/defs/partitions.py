"""Daily partitions on Salesforce ``SystemModstamp``, from ``delta.start_date`` to today.

``end_offset=1`` makes today's partition exist, so the open day can be re-materialised as it fills
(each run reads only what changed since the watermark). The first partition also takes all history
older than the start date.
"""

from __future__ import annotations

import dagster as dg

from sfxero_dagster.config import SfxeroConfig


def daily_partitions(config: SfxeroConfig) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=config.delta.start_date.isoformat(),
        timezone=config.delta.timezone,
        end_offset=1,
    )
