"""Resources per environment (the project_fully_featured pattern).

``SFXERO_ENV`` selects the set: ``sandbox`` (default; the embedded emulators) or ``production``. Both
use the same classes and code paths; they differ only in configuration: the YAML file (URLs, CA bundle,
tenants) and the environment variables that carry secrets through ``dg.EnvVar``.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import dagster as dg

from sfxero_dagster.config import SfxeroConfig, load_config
from sfxero_dagster.core.ledger import Ledger


def get_environment() -> str:
    env = os.environ.get("SFXERO_ENV", "sandbox").lower()
    if env not in {"sandbox", "production"}:
        raise ValueError(f"SFXERO_ENV must be 'sandbox' or 'production', got {env!r}")
    return env


class SfxeroConfigResource(dg.ConfigurableResource):
    """The parsed sfxero.yaml; loaded once per run so every asset sees the same mapping rules."""

    path: str = "sfxero.yaml"

    @cached_property
    def config(self) -> SfxeroConfig:
        return load_config(self.path)

    def state_path(self, name: str) -> Path:
        base = Path(self.path).resolve().parent
        return self.config.storage.path(name, base)


class LedgerResource(dg.ConfigurableResource):
    """The durable sync ledger (links, intents, events, review queue, watermarks) in DuckDB."""

    path: str

    def open(self) -> Ledger:
        return Ledger(self.path)


def _config_file() -> str:
    return os.environ.get("SFXERO_CONFIG", "sfxero.yaml")


def _state_dir() -> Path:
    return Path(os.environ.get("SFXERO_STATE_DIR", ".sfxero_state"))


def build_resources(environment: str | None = None) -> dict[str, object]:
    """Resources for ``environment``; secrets are EnvVar references resolved at launch, never at import."""
    env = environment or get_environment()
    config = SfxeroConfigResource(path=_config_file())
    ledger = LedgerResource(path=str(_state_dir() / "ledger.duckdb"))
    # Until the API clients land, both environments share the same resource set.
    del env
    return {"sfxero_config": config, "ledger": ledger}
