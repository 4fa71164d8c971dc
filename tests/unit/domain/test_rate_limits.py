"""The token bucket and a contract's rate limit: what a caller may send in any window, and what it is told
when it may not."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rate_limits import RateLimit, RateLimitTermsInvalid, TokenBucket, rate_limit_terms

DEFAULT = RateLimit(10, 50)

limits = st.builds(
    RateLimit,
    per_second=st.floats(min_value=0.1, max_value=1000, allow_nan=False),
    burst=st.integers(min_value=1, max_value=500),
)
gaps = st.lists(st.floats(min_value=0, max_value=2, allow_nan=False), min_size=1, max_size=300)


@given(limits, gaps)
def test_never_admits_more_than_the_burst_plus_the_rate_over_the_time(limit: RateLimit, gaps: list[float]) -> None:
    bucket = TokenBucket.full(limit, 0.0)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        admitted += bucket.take(now) == 0
    assert admitted <= limit.burst + limit.per_second * now + 1e-6


@given(limits, st.floats(min_value=0, max_value=100, allow_nan=False))
def test_a_refusal_names_whole_seconds_after_which_a_request_is_admitted(limit: RateLimit, start: float) -> None:
    bucket = TokenBucket.full(limit, start)
    while (retry_after_s := bucket.take(start)) == 0:
        pass
    assert isinstance(retry_after_s, int)
    assert retry_after_s >= 1
    assert retry_after_s <= max(1, math.ceil(1 / limit.per_second))  # an empty bucket fills one in 1/rate
    assert bucket.take(start + retry_after_s) == 0


def test_a_full_bucket_admits_the_burst_at_once_then_the_rate() -> None:
    bucket = TokenBucket.full(DEFAULT, 0.0)
    assert [bucket.take(0.0) for _ in range(50)] == [0] * 50
    assert bucket.take(0.0) == 1
    assert bucket.take(0.1) == 0  # 10/s: a token every 0.1 s
    assert bucket.take(0.1) == 1


def test_contract_terms_set_the_limit_and_fall_back_to_the_default() -> None:
    assert rate_limit_terms({}, DEFAULT) == DEFAULT
    assert rate_limit_terms({"rate_limit": {"per_second": 2, "burst": 5}}, DEFAULT) == RateLimit(2, 5)
    assert rate_limit_terms({"rate_limit": {"per_second": "0.5"}}, DEFAULT) == RateLimit(0.5, 50)


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"per_second": 0}, "rate_limit.per_second"),
        ({"per_second": "fast"}, "rate_limit.per_second"),
        ({"per_second": "inf"}, "rate_limit.per_second"),
        ({"burst": 0}, "rate_limit.burst"),
        ({"burst": 2.5}, "rate_limit.burst"),
        ("10/s", "rate_limit"),
    ],
)
def test_malformed_contract_terms_name_the_field(section: object, field: str) -> None:
    with pytest.raises(RateLimitTermsInvalid, match=field.replace(".", r"\.")):
        rate_limit_terms({"rate_limit": section}, DEFAULT)
