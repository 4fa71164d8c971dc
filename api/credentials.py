"""A short-lived cache of who an API key or OCPI token belongs to, so each request does not pay a database
round trip to authenticate. Only hits are cached: a new key works at once; an entry stops authenticating
when its key expires (checked on every hit), when this process revokes the key or deactivates its holder
(``forget``), and otherwise after ``CREDENTIAL_TTL_S``, which bounds how long a change made by another
process (the CLI) takes to reach this one.

Past that, an entry still tells who the credential belonged to (``last_known``), for the rate limits: a
flood must keep drawing on its party's bucket while its key is authenticated again, not get a full bucket
of its own every TTL. It goes when authentication refuses the credential (``forget``). Only credentials
that authenticated are kept, so the entries are at most the keys and tokens issued.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Generic, TypeVar

CREDENTIAL_TTL_S = 5.0

V = TypeVar("V")


class CredentialCache(Generic[V]):
    def __init__(self, ttl_s: float = CREDENTIAL_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, datetime | None, V]] = {}

    def get(self, digest: str) -> V | None:
        """The credential's holder, while its entry may authenticate."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        cached_until, expires_at, value = entry
        if cached_until < time.monotonic() or (expires_at is not None and expires_at <= datetime.now(UTC)):
            return None
        return value

    def last_known(self, digest: str) -> V | None:
        """Who the credential authenticated as last, however long ago: to tell callers apart, never to let
        one in."""
        entry = self._entries.get(digest)
        return None if entry is None else entry[2]

    def put(self, digest: str, value: V, *, expires_at: datetime | None = None) -> None:
        """Cache ``value`` for the TTL, never past ``expires_at`` (the key's own expiry)."""
        self._entries[digest] = (time.monotonic() + self._ttl_s, expires_at, value)

    def forget(self, *digests: str) -> None:
        for digest in digests:
            self._entries.pop(digest, None)

    def forget_holders(self, holder: Callable[[V], bool]) -> None:
        """Forget every credential of the holders ``holder`` picks (their credentials were replaced)."""
        self.forget(*[digest for digest, (_, _, value) in self._entries.items() if holder(value)])
