"""The credential cache never outlives what it caches: a key's expiry ends its entry on the next hit, a
revocation in this process at once, anything else after the TTL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from api.credentials import CredentialCache


def test_an_entry_ends_with_its_keys_expiry() -> None:
    cache: CredentialCache[str] = CredentialCache(ttl_s=60)
    cache.put("expired", "dp-a", expires_at=datetime.now(UTC) - timedelta(microseconds=1))
    cache.put("valid", "dp-b", expires_at=datetime.now(UTC) + timedelta(hours=1))
    cache.put("forever", "dp-c")
    assert cache.get("expired") is None
    assert cache.get("valid") == "dp-b"
    assert cache.get("forever") == "dp-c"


def test_forgotten_and_stale_entries_are_gone() -> None:
    cache: CredentialCache[str] = CredentialCache(ttl_s=0.05)
    cache.put("revoked", "dp-a")
    cache.put("other", "dp-b")
    cache.forget("revoked", "never-cached")
    assert cache.get("revoked") is None
    assert cache.get("other") == "dp-b"
    time.sleep(0.06)
    assert cache.get("other") is None
