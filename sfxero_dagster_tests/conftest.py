"""Shared fixtures. Every test gets its own DAGSTER_HOME-free, temp-dir world; no fixed ports."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
