"""Salesforce record Ids: 15-character case-sensitive ids plus the 3-character case-safe suffix."""

from __future__ import annotations

import string

_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def case_safe_suffix(id15: str) -> str:
    """The documented checksum: one char per 5-char chunk, a bit per uppercase letter (LSB first)."""
    if len(id15) != 15:
        raise ValueError(f"expected a 15-character id, got {id15!r}")
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_ALPHABET[bits])
    return "".join(out)


def to18(id15: str) -> str:
    return id15 + case_safe_suffix(id15)


def is_valid_id(value: str) -> bool:
    """True for a 15-char id or an 18-char id whose suffix matches."""
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum():
        return False
    return len(value) == 15 or case_safe_suffix(value[:15]) == value[15:]


def make_id(key_prefix: str, sequence: int, pod: str = "5g") -> str:
    """Deterministic 18-char id: 3-char key prefix, 2-char pod, 10-char base62 sequence, suffix."""
    if len(key_prefix) != 3 or len(pod) != 2:
        raise ValueError("key prefix must be 3 characters and pod 2")
    digits = []
    n = sequence
    for _ in range(10):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    if n:
        raise ValueError("sequence too large")
    return to18(key_prefix + pod + "".join(reversed(digits)))


def normalise_id(value: str) -> str:
    """Return the 18-char form of a 15- or 18-char id (queries may use either)."""
    return to18(value) if len(value) == 15 else value
