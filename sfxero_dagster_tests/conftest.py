"""Shared fixtures. Every test gets its own DAGSTER_HOME-free, temp-dir world; no fixed ports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A hint whose producer forgets a value fails the test instead of rendering '?' (core.reasons.hint).
os.environ.setdefault("SFXERO_STRICT_HINTS", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


# ----- the generative suite's report: how many worlds and perturbations it tried (also under xdist) -----
def pytest_sessionfinish(session: pytest.Session) -> None:
    from sfxero_dagster_tests.generative.stats import STATS

    if hasattr(session.config, "workeroutput"):  # an xdist worker: hand the counts to the controller
        session.config.workeroutput["generative"] = STATS.as_dict()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    from sfxero_dagster_tests.generative.stats import STATS

    STATS.merge(getattr(node, "workeroutput", {}).get("generative", {}))


def pytest_terminal_summary(terminalreporter) -> None:
    from sfxero_dagster_tests.generative.stats import STATS

    if STATS.worlds:
        terminalreporter.write_sep("-", "generative")
        terminalreporter.write_line(STATS.line())
