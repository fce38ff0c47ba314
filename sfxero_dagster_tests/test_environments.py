"""SFXERO_ENV switches what the resources are built from, and the configuration is parsed once.

sandbox (default): $SFXERO_CONFIG or the shipped sfxero.yaml, which points at the emulators.
production: $SFXERO_CONFIG or sfxero.production.yaml, never the shipped sandbox file, and no loopback or
plain-http connection. Resources get values (a connection model, paths), not a file to read again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfxero_dagster.config import ConfigError
from sfxero_dagster.defs.resources import build_resources

from .conftest import REPO_ROOT

SANDBOX_FILE = REPO_ROOT / "sfxero.yaml"
PRODUCTION_EXAMPLE = REPO_ROOT / "sfxero.production.example.yaml"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("SFXERO_CONFIG", raising=False)
    monkeypatch.delenv("SFXERO_ENV", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_production_refuses_the_sandbox_configuration(clean_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("SFXERO_ENV", "production")
    monkeypatch.setenv("SFXERO_CONFIG", str(SANDBOX_FILE))
    with pytest.raises(ConfigError) as err:
        build_resources()
    assert "xero.base_url: 'http://127.0.0.1:18710/api.xro/2.0' is a loopback address" in str(err.value)
    assert "salesforce.login_url" in str(err.value)
    # the same file is what the sandbox environment runs on
    monkeypatch.setenv("SFXERO_ENV", "sandbox")
    resources = build_resources()
    assert resources["xero"].connection.base_url == "http://127.0.0.1:18710/api.xro/2.0"


def test_each_environment_reads_its_own_default_file(clean_env: Path, monkeypatch) -> None:
    shutil.copy(SANDBOX_FILE, clean_env / "sfxero.yaml")
    shutil.copy(PRODUCTION_EXAMPLE, clean_env / "sfxero.production.yaml")
    sandbox = build_resources(environment="sandbox")
    production = build_resources(environment="production")
    assert sandbox["salesforce"].connection.login_url == "https://127.0.0.1:18711"
    assert production["salesforce"].connection.login_url == "https://your-domain.my.salesforce.com"
    assert production["xero"].connection.token_url == "https://identity.xero.com/connect/token"
    assert sandbox["sfxero_config"].settings.environment == "sandbox"
    assert production["sfxero_config"].settings.environment == "production"
    # relative paths are the file's, resolved once: the ledger sits under the file's folder
    assert Path(sandbox["ledger"].path) == clean_env / ".sfxero_state" / "ledger.duckdb"
    assert sandbox["salesforce"].connection.ca_bundle == str(
        clean_env / ".sandbox_state/salesforce/tls/sandbox-ca.pem"
    )
    # production never falls back to the shipped sandbox file
    (clean_env / "sfxero.production.yaml").unlink()
    with pytest.raises(ConfigError, match="config file not found"):
        build_resources(environment="production")


def test_resources_hold_values_and_do_not_read_the_file_again(clean_env: Path, monkeypatch) -> None:
    path = clean_env / "sfxero.yaml"
    shutil.copy(SANDBOX_FILE, path)
    monkeypatch.setenv("SF_CONSUMER_KEY", "key")
    monkeypatch.setenv("SF_CONSUMER_SECRET", "secret")
    resources = build_resources(config_path=str(path))
    path.write_text("not: [valid")  # a later edit reaches the next process, not this one
    with resources["salesforce"].process_config_and_initialize_cm() as salesforce:
        settings = salesforce.settings()
    assert settings.login_url == "https://127.0.0.1:18711" and settings.consumer_key == "key"
    assert resources["sfxero_config"].config.routing.default_tenant == "au"
    manager = resources["xero"].model_copy(update={"client_id": "id", "client_secret": "s"}).token_manager()
    assert Path(manager.store.path) == clean_env / ".sfxero_state" / "xero_token.json"
