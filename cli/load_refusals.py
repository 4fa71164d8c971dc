"""A request the API refused for load (429 over a rate limit, 503 past capacity), as the demo and the bench,
like partners (README), treat it: wait the ``Retry-After`` it gave, then send it again, same Idempotency-Key."""

from __future__ import annotations

import httpx

REFUSED_FOR_LOAD = frozenset({429, 503})


def retry_after_s(reply: httpx.Response) -> float:
    """The seconds a refusal asks to wait (its ``Retry-After``; 1 when it names none)."""
    return float(reply.headers.get("Retry-After", "1"))
