"""A whole world per test: both emulators seeded with the small org, a config pointed at them, the
definitions built from it, and an ephemeral Dagster instance. Only URLs, CA and state differ from
production."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import dagster as dg
import pytest

from sfxero_dagster.clients.xero_tokens import FileTokenStore
from sfxero_dagster.sandbox.run import SandboxHandle, start_sandbox
from sfxero_dagster.store.ledger import Ledger
from sfxero_dagster.store.warehouse import Warehouse

from ..conftest import REPO_ROOT


@cache
def seed_manifest() -> dict:
    from sfxero_dagster.sandbox.seed import generate

    return generate("small", 7).manifest


@dataclass
class World:
    handle: SandboxHandle
    config_path: Path
    state_dir: Path
    instance: dg.DagsterInstance

    def settings(self):
        """The world's configuration, parsed now (tests may rewrite the file between runs)."""
        from sfxero_dagster.config import load_settings

        return load_settings(self.config_path)

    def runner(self):
        from sfxero_dagster.runner import Runner

        return Runner(self.settings(), self.instance)

    def defs(self) -> dg.Definitions:
        from sfxero_dagster.definitions import build_definitions

        return build_definitions(settings=self.settings())

    def assets(self) -> list:
        return self.runner().assets

    def materialize(
        self, selection: str | list[str] | dg.AssetSelection, **kwargs
    ) -> dg.ExecuteInProcessResult:
        return self.runner().run(selection, **kwargs)

    def extract_all(self, selection: dg.AssetSelection | None = None) -> dg.ExecuteInProcessResult:
        """All history in one run: the whole partition range (BackfillPolicy.single_run)."""
        from sfxero_dagster.runner import EXTRACT

        return self.runner().extract_history(selection or EXTRACT)

    @property
    def sf_control(self):
        from sfxero_dagster.sandbox.control import SandboxControl

        info = self.handle.salesforce.info()
        return SandboxControl(info["instance_url"], verify=info["ca_bundle"])

    def today(self) -> str:
        return self.handle.clock.now().astimezone(UTC).date().isoformat()

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.state_dir / "warehouse.duckdb")

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.state_dir / "ledger.duckdb")


def make_world(tmp: Path, monkeypatch: pytest.MonkeyPatch, handle: SandboxHandle | None = None) -> World:
    handle = handle or start_sandbox(tmp / "sandbox")
    state = tmp / "state"
    state.mkdir(parents=True, exist_ok=True)
    config = handle.write_client_config(REPO_ROOT / "sfxero.yaml", tmp / "sfxero.yaml", state)
    for key, value in handle.client_environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SFXERO_CONFIG", str(config))
    FileTokenStore(state / "xero_token.json").save(
        {"refresh_token": handle.xero.info()["refresh_token"], "expires_at": 0}
    )  # the first consent
    return World(handle, config, state, dg.DagsterInstance.ephemeral())


_TEMPLATE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def prepared_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Once per worker: a world extracted, snapshotted, staged, validated and matched, then stopped.

    Memoised here as well: the generative suite imports this fixture into its own conftest, and pytest
    would otherwise prepare a second template on a worker that runs both suites."""
    if "base" in _TEMPLATE:
        return _TEMPLATE["base"]
    base = tmp_path_factory.mktemp("prepared")
    mp = pytest.MonkeyPatch()
    w = make_world(base, mp)
    try:
        w.runner().cycle(("extract", "reference", "stage"))
    finally:
        w.handle.stop()
        mp.undo()
    _TEMPLATE["base"] = base
    return base


@pytest.fixture
def prepared_world(
    prepared_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A copy of the prepared template (sandbox state, warehouse, ledger) on fresh ports: ready to push."""
    import shutil

    for name in ("sandbox", "state"):
        shutil.copytree(prepared_template / name, tmp_path / name)
    w = make_world(tmp_path, monkeypatch, handle=start_sandbox(tmp_path / "sandbox"))
    try:
        with dg.instance_for_test() as instance:  # sensors read run status from a real (temp) instance
            w.instance = instance
            yield w
    finally:
        w.handle.stop()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    w = make_world(tmp_path, monkeypatch)
    try:
        yield w
    finally:
        w.handle.stop()


def now() -> datetime:
    return datetime.now(UTC)


def dagster_cli(home: Path, *args: str, **kwargs):
    """``dagster <args>`` in a subprocess with its own DAGSTER_HOME (the run process a daemon would start)."""
    import os
    import subprocess
    import sys

    home.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("stdout", subprocess.PIPE)  # read with communicate(), or pass DEVNULL
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), *args],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        text=True,
        **kwargs,
    )
