"""A short-lived cache of who an API key or OCPI token belongs to, so each request does not pay a database
round trip to authenticate. Only hits are cached: a new key works at once; a revoked or deactivated one
stops working within ``CREDENTIAL_TTL_S``."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

CREDENTIAL_TTL_S = 30.0

V = TypeVar("V")


class CredentialCache(Generic[V]):
    def __init__(self, ttl_s: float = CREDENTIAL_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, digest: str) -> V | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(digest, None)
            return None
        return entry[1]

    def put(self, digest: str, value: V) -> None:
        self._entries[digest] = (time.monotonic() + self._ttl_s, value)
