"""Rate limits: a token bucket per caller, and the limit a party's contract sets.

A bucket holds at most ``burst`` tokens and gains ``per_second`` tokens a second; each request takes one.
An empty bucket refuses and says how many whole seconds until a token is there (HTTP ``Retry-After``).
The clock is the caller's: ``now`` is any monotonic time in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RATE_LIMIT_TERMS = "rate_limit"  # the contract terms' section: {"per_second": 10, "burst": 50}
# A token refilled by float arithmetic may come out a hair under 1: still a token.
WHOLE_TOKEN = 1 - 1e-9


class RateLimitTermsInvalid(ValueError):
    """A contract's ``rate_limit`` section is not a positive rate and burst."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise RateLimitTermsInvalid(f"rate_limit.per_second must be a positive number, not {self.per_second!r}")
        if self.burst < 1:
            raise RateLimitTermsInvalid(f"rate_limit.burst must be at least 1, not {self.burst!r}")


def rate_limit_terms(terms: Mapping[str, Any], default: RateLimit) -> RateLimit:
    """The contract's ``rate_limit`` section, each value falling back to ``default``'s."""
    section = terms.get(RATE_LIMIT_TERMS)
    if section is None:
        return default
    if not isinstance(section, Mapping):
        raise RateLimitTermsInvalid("rate_limit must be an object with per_second and burst")
    per_second, burst = section.get("per_second", default.per_second), section.get("burst", default.burst)
    if isinstance(per_second, bool) or not isinstance(per_second, int | float | str):
        raise RateLimitTermsInvalid(f"rate_limit.per_second must be a number, not {per_second!r}")
    if isinstance(burst, bool) or not isinstance(burst, int):
        raise RateLimitTermsInvalid(f"rate_limit.burst must be a whole number, not {burst!r}")
    try:
        rate = float(per_second)
    except ValueError as error:
        raise RateLimitTermsInvalid(f"rate_limit.per_second must be a number, not {per_second!r}") from error
    return RateLimit(rate, burst)


@dataclass(slots=True)
class TokenBucket:
    limit: RateLimit
    tokens: float
    updated: float

    @classmethod
    def full(cls, limit: RateLimit, now: float) -> TokenBucket:
        return cls(limit, float(limit.burst), now)

    def take(self, now: float) -> int:
        """Take a token: 0 when there was one, else the whole seconds (at least 1) until there is."""
        wait_s = self.wait_s(now)
        if wait_s == 0:
            self.tokens = max(self.tokens - 1, 0.0)
        return wait_s

    def wait_s(self, now: float) -> int:
        """0 when a token is there (left in the bucket), else the whole seconds (at least 1) until there is."""
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.per_second)
        self.updated = max(now, self.updated)
        if self.tokens >= WHOLE_TOKEN:
            return 0
        return max(1, math.ceil((1 - self.tokens) / self.limit.per_second))
