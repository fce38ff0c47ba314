"""Loading sfxero.yaml: YAML to :class:`SfxeroConfig`, with one precise line per problem.

Why pydantic with ``extra="forbid"``: a typo in a mapping key must fail loudly at load time, naming the
key path and what is allowed, rather than silently falling back to a default and posting wrong invoices.
Secrets never live in the file; a secret-looking key is rejected with the environment variable to use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sfxero_dagster.config.model import SfxeroConfig

DEFAULT_CONFIG_FILE = "sfxero.yaml"
CONFIG_ENV_VAR = "SFXERO_CONFIG"

# Keys that would hold secrets, and the environment variables that hold them instead (per section).
SECRET_KEYS: dict[str, dict[str, str]] = {
    "salesforce": {
        "client_secret": "SF_CONSUMER_SECRET",
        "consumer_secret": "SF_CONSUMER_SECRET",
        "password": "SF_PASSWORD",
        "security_token": "SF_SECURITY_TOKEN",
        "private_key": "SF_JWT_PRIVATE_KEY_FILE",
        "access_token": "(none: obtained at run time)",
    },
    "xero": {
        "client_secret": "XERO_CLIENT_SECRET",
        "refresh_token": "XERO_REFRESH_TOKEN (first consent only; rotated tokens live in the token store)",
        "access_token": "(none: obtained at run time)",
    },
}
_ANY_SECTION_SECRETS = {k for keys in SECRET_KEYS.values() for k in keys}


class ConfigError(ValueError):
    """A configuration problem, with one line per error: ``<file>: <key.path>: <what is wrong>``."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__("\n".join(f"{source}: {e}" for e in errors))


# ----- loading -------------------------------------------------------------------------------------------
def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Walk the model along ``loc`` (minus the bad key) to list the keys allowed at that level."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for candidate in (ann, *getattr(ann, "__args__", ())):
            for inner in (candidate, *getattr(candidate, "__args__", ())):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
                    break
    return sorted(getattr(current, "model_fields", {}))


def _find_secrets(data: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(data, dict):
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            key = str(k).lower()
            if key in _ANY_SECTION_SECRETS and v not in (None, ""):
                section = SECRET_KEYS.get(p.split(".")[0].split("[")[0], {})
                env = section.get(key) or next(
                    e for keys in SECRET_KEYS.values() for s, e in keys.items() if s == key
                )
                found.append(
                    f"{p}: secrets must not be stored in the config file; set the environment variable {env}"
                )
            found.extend(_find_secrets(v, p))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found.extend(_find_secrets(v, f"{path}[{i}]"))
    return found


def parse_config(data: Any, source: str = "<config>") -> SfxeroConfig:
    """Validate a parsed YAML document; raise :class:`ConfigError` with one precise line per problem."""
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): expected a mapping of sections (salesforce, xero, ...)"])
    secrets = _find_secrets(data)
    if secrets:
        raise ConfigError(source, secrets)
    try:
        return SfxeroConfig.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = _loc(loc)
            if err["type"] == "extra_forbidden":
                allowed = _allowed_keys(SfxeroConfig, loc)
                errors.append(f"{where}: unknown key; allowed keys here: {', '.join(allowed)}")
            elif err["type"] == "literal_error":
                expected = err.get("ctx", {}).get("expected", "")
                errors.append(f"{where}: {err['input']!r} is not allowed; expected {expected}")
            elif err["type"] == "missing":
                errors.append(f"{where}: required key is missing")
            elif err["type"] == "value_error" and not loc:
                errors.extend(str(err["msg"]).removeprefix("Value error, ").splitlines())
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                errors.append(f"{where}: {msg} (got {err.get('input')!r})")
        raise ConfigError(source, errors) from None


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_FILE)


def load_config(path: str | os.PathLike[str] | None = None) -> SfxeroConfig:
    """Load ``path`` (default: $SFXERO_CONFIG or ./sfxero.yaml)."""
    p = config_path(path)
    if not p.exists():
        raise ConfigError(str(p), [f"config file not found (set {CONFIG_ENV_VAR} or pass a path)"])
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(str(p), [f"not valid YAML: {exc}"]) from None
    return parse_config(data, source=str(p))
