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
