"""The configuration of this process: which environment, which file, parsed once, paths resolved once.

``SFXERO_ENV`` picks the environment. ``sandbox`` (the default) reads ``$SFXERO_CONFIG`` or the shipped
``sfxero.yaml``, which points at the local emulators. ``production`` reads ``$SFXERO_CONFIG`` or
``sfxero.production.yaml`` (never the shipped sandbox file) and refuses a connection that points at a
loopback address or speaks plain http, so a production deployment cannot quietly sync against an
emulator. Secrets come from environment variables in both (``defs/resources.py``).

Relative paths in the file (CA bundles, the token store, ``storage.state_dir``) are relative to the file,
not to the working directory; they are resolved here, once, so every consumer (resources, the CLI, the
demo, queue operations, benchmarks) derives the ledger and warehouse paths the same way.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

from sfxero_dagster.config.load import CONFIG_ENV_VAR, ConfigError, load_config
from sfxero_dagster.config.model import SfxeroConfig

Environment = Literal["sandbox", "production"]
ENVIRONMENT_VAR = "SFXERO_ENV"
DEFAULT_FILES: dict[str, str] = {"sandbox": "sfxero.yaml", "production": "sfxero.production.yaml"}
# Every URL of a connection; production needs each on https and off loopback.
CONNECTION_URLS = (
    ("salesforce", "login_url"),
    ("salesforce", "instance_url"),
    ("xero", "base_url"),
    ("xero", "identity_url"),
    ("xero", "token_url"),
)


def get_environment(value: str | None = None) -> Environment:
    env = (value or os.environ.get(ENVIRONMENT_VAR) or "sandbox").lower()
    if env not in get_args(Environment):
        raise ValueError(f"{ENVIRONMENT_VAR} must be 'sandbox' or 'production', got {env!r}")
    return env  # type: ignore[return-value]


def config_file(environment: Environment) -> Path:
    """``$SFXERO_CONFIG`` if set, else the environment's default file."""
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_FILES[environment])


def _loopback(host: str | None) -> bool:
    if not host or host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def environment_problems(config: SfxeroConfig, environment: Environment) -> list[str]:
    """What the environment forbids in this configuration (nothing in the sandbox)."""
    if environment != "production":
        return []
    out = []
    for section, key in CONNECTION_URLS:
        url = getattr(getattr(config, section), key)
        if url is None:
            continue
        parts = urlsplit(url)
        if _loopback(parts.hostname):
            out.append(
                f"{section}.{key}: {url!r} is a loopback address (the sandbox); production connects to the "
                "real API (SFXERO_ENV=production)"
            )
        elif parts.scheme != "https":
            out.append(f"{section}.{key}: {url!r} must use https in production (SFXERO_ENV=production)")
    return out


def _resolve(path: str | None, base: Path) -> str | None:
    if not path:
        return path
    p = Path(path)
    return str(p if p.is_absolute() else base / p)


def resolve_paths(config: SfxeroConfig, base: Path) -> SfxeroConfig:
    """The configuration with its relative paths made absolute against ``base`` (the file's folder)."""
    sf, xero, storage = config.salesforce, config.xero, config.storage
    return config.model_copy(
        update={
            "salesforce": sf.model_copy(update={"ca_bundle": _resolve(sf.ca_bundle, base)}),
            "xero": xero.model_copy(
                update={
                    "ca_bundle": _resolve(xero.ca_bundle, base),
                    "token_store": _resolve(xero.token_store, base),
                }
            ),
            "storage": storage.model_copy(update={"state_dir": _resolve(storage.state_dir, base)}),
        }
    )


@dataclass(frozen=True)
class Settings:
    """One process's configuration: the environment, the file it came from, the parsed model."""

    environment: Environment
    source: Path
    config: SfxeroConfig  # relative paths already resolved against the file's folder

    @property
    def ledger_path(self) -> Path:
        return self.config.storage.path(self.config.storage.ledger)

    @property
    def warehouse_path(self) -> Path:
        return self.config.storage.path(self.config.storage.warehouse)

    @property
    def token_store(self) -> Path:
        return Path(self.config.xero.token_store)


def load_settings(path: str | os.PathLike[str] | None = None, environment: str | None = None) -> Settings:
    """Parse the environment's configuration file (or ``path``) once; raise :class:`ConfigError` on problems."""
    env = get_environment(environment)
    source = Path(path) if path else config_file(env)
    config = resolve_paths(load_config(source), source.resolve().parent)
    problems = environment_problems(config, env)
    if problems:
        raise ConfigError(str(source), problems)
    return Settings(env, source.resolve(), config)
