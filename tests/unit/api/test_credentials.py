"""The credential cache never authenticates past what it caches: a key's expiry ends its entry on the next
hit, a revocation in this process at once, anything else after the TTL. Who a credential belonged to is
known until it is forgotten (for the rate limits)."""

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


def test_a_stale_or_expired_entry_still_tells_who_the_credential_belonged_to_until_forgotten() -> None:
    cache: CredentialCache[str] = CredentialCache(ttl_s=0.05)
    cache.put("stale", "dp-a")
    cache.put("expired", "dp-b", expires_at=datetime.now(UTC) - timedelta(microseconds=1))
    time.sleep(0.06)
    assert (cache.get("stale"), cache.get("expired")) == (None, None)
    assert (cache.last_known("stale"), cache.last_known("expired")) == ("dp-a", "dp-b")
    cache.forget("expired")
    assert cache.last_known("expired") is None
    assert cache.last_known("never-cached") is None
