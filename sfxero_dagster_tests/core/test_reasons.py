from __future__ import annotations

import pytest

from sfxero_dagster.core.reasons import REASONS, hint, reason


def test_codes_are_unique_snake_case_and_explained() -> None:
    assert len(REASONS) >= 25
    for code, r in REASONS.items():
        assert code == r.code and code.islower() and " " not in code
        assert r.description.endswith(".") and r.hint


def test_hint_fills_values_and_keeps_unknown_placeholders() -> None:
    assert hint("currency_not_enabled", value="JPY").startswith("Enable JPY in Xero")
    assert (
        hint("field_too_long", field="Name", limit=255)
        == "Shorten Name to at most 255 characters (it has {length})."
    )
    with pytest.raises(KeyError, match="unknown reason code 'nope'"):
        reason("nope")
