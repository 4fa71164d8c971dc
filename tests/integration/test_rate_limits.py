"""The API's rate limits (``api/rate_limits.py``) on both databases: a partner's session starts and a CPO's
OCPI messages each have a token bucket, a refusal is 429 with ``Retry-After`` (the OCPI envelope on OCPI
routes) before the route runs, and a party's contract can set its own limit."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.credentials import CredentialCache
from api.deps import DemandPartnerDep, sha256_hex
from api.rate_limits import RateLimitPolicy, RateLimits
from cli.seed import DemoPartner, ensure_demand_partner
from domain.parties import DemandPartner
from domain.rate_limits import RateLimit
from persistence.contract_terms import latest_terms_by_party
from persistence.db import make_read_session_factory
from persistence.ocpi_connections import OcpiCaller

NOW = datetime(2026, 6, 1, tzinfo=UTC)
# A refill too slow to matter while a test runs (on a loaded machine 60 requests can take a second), so
# every count below is exact.
POLICY = RateLimitPolicy(session_starts=RateLimit(0.01, 50), cpo_messages=RateLimit(0.01, 2))
OCPI_SESSION = "/ocpi/emsp/2.2.1/sessions/DE/STN/s-1"


def limited_app(engine: Engine) -> tuple[FastAPI, SimpleNamespace]:
    """Routes that always succeed behind the rate limits, so every refusal is the middleware's."""
    app = FastAPI()

    @app.post("/v1/sessions", status_code=202)
    async def start() -> dict[str, str]:
        return {"id": "started"}

    @app.put(OCPI_SESSION)
    async def ocpi_put() -> dict[str, int]:
        return {"status_code": 1000}

    app.add_middleware(RateLimits, policy=POLICY)
    context = SimpleNamespace(
        partners=CredentialCache[DemandPartner](),
        cpos=CredentialCache[OcpiCaller](),
        reads=make_read_session_factory(engine),
    )
    app.state.context = context
    return app, context


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def starts(http: httpx.AsyncClient, key: str, count: int) -> list[httpx.Response]:
    return [await http.post("/v1/sessions", headers=bearer(key), json={}) for _ in range(count)]


async def test_a_partner_past_its_burst_gets_429_with_retry_after_and_others_are_not_touched(engine: Engine) -> None:
    app, _ = limited_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        flood = await starts(http, "flooding-key", 60)
        other = await starts(http, "other-key", 5)
        anonymous = await http.post("/v1/sessions", json={})
    assert [r.status_code for r in flood[:50]] == [202] * 50
    refused = flood[50:]
    assert {r.status_code for r in refused} == {429}, [r.status_code for r in refused]
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert "0.01 requests/s, bursts of 50" in refused[0].json()["detail"]
    assert [r.status_code for r in other] == [202] * 5
    assert anonymous.status_code == 202  # no credential: authentication answers it, not the rate limit


async def test_a_cpo_past_its_burst_gets_429_in_the_ocpi_envelope(engine: Engine) -> None:
    app, _ = limited_app(engine)
    token = {"Authorization": "Token Y3BvLXRva2Vu"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        replies = [await http.put(OCPI_SESSION, headers=token, json={}) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert replies[2].headers["Retry-After"] == "100"  # a whole token at 0.01 a second
    body = replies[2].json()
    assert body["status_code"] == 2000
    assert "rate limit" in body["status_message"]
    assert body["data"] is None
    assert "timestamp" in body


async def test_a_partners_contract_sets_its_own_limit_for_all_of_its_keys(
    engine: Engine, writes: sessionmaker[Session]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    partner = DemoPartner(f"dp-rl-{suffix}", "Rate limited", "DE", "DE281045677", "EUR", f"k-{suffix}")
    with writes.begin() as db:
        ensure_demand_partner(db, partner, {"rate_limit": {"per_second": 100, "burst": 100}}, now=NOW)
    with writes.begin() as db:
        ensure_demand_partner(db, partner, {"rate_limit": {"per_second": 1, "burst": 3}}, now=NOW)
    with writes() as db:
        assert latest_terms_by_party(db, "DEMAND_PARTNER")[partner.id]["rate_limit"] == {"per_second": 1, "burst": 3}

    app, context = limited_app(engine)
    for key in ("first-key", "second-key"):  # as authentication caches them
        context.partners.put(sha256_hex(key), DemandPartner(partner.id, "EUR"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        first = await starts(http, "first-key", 2)
        second = await starts(http, "second-key", 2)
    assert [r.status_code for r in first + second] == [202, 202, 202, 429]
    assert "1 requests/s, bursts of 3" in second[1].json()["detail"]


async def test_authenticating_does_not_refill_the_bucket(engine: Engine) -> None:
    app, context = limited_app(engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        before = await starts(http, "a-key", 30)
        context.partners.put(sha256_hex("a-key"), DemandPartner("dp-someone", "EUR"))  # it authenticated
        after = await starts(http, "a-key", 30)
    assert [r.status_code for r in before + after].count(202) == 50


async def test_a_credential_authenticated_again_keeps_drawing_on_its_partys_bucket(engine: Engine) -> None:
    app, context = limited_app(engine)
    digest, partner = sha256_hex("a-key"), DemandPartner("dp-someone", "EUR")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        context.partners.put(digest, partner)
        before = await starts(http, "a-key", 30)
        # Its cache entry no longer authenticates (its TTL is over): authentication will look it up again.
        context.partners.put(digest, partner, expires_at=datetime.now(UTC) - timedelta(microseconds=1))
        after = await starts(http, "a-key", 30)
    assert [r.status_code for r in before + after].count(202) == 50


async def test_a_key_refused_at_authentication_no_longer_draws_on_its_former_partners_bucket(engine: Engine) -> None:
    app = FastAPI()

    @app.post("/v1/sessions", status_code=202)
    async def start(partner: DemandPartnerDep) -> dict[str, str]:
        return {"partner": partner.id}

    app.add_middleware(RateLimits, policy=POLICY)
    context = SimpleNamespace(partners=CredentialCache[DemandPartner](), reads=make_read_session_factory(engine))
    app.state.context = context
    partner = DemandPartner("dp-someone", "EUR")
    context.partners.put(sha256_hex("valid-key"), partner)
    # A key of the partner's that authenticated before and has been revoked since (in no database).
    context.partners.put(sha256_hex("revoked-key"), partner, expires_at=datetime.now(UTC) - timedelta(microseconds=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        revoked = await starts(http, "revoked-key", 60)
        valid = await starts(http, "valid-key", 50)
    assert {r.status_code for r in revoked} == {401, 429}
    # The revoked key's first request was the partner's; the rest had a bucket of their own.
    assert [r.status_code for r in valid].count(202) == 49


@pytest.mark.parametrize("terms", [{"rate_limit": "lots"}, {"rate_limit": {"burst": -1}}])
async def test_a_malformed_contract_limit_falls_back_to_the_default(
    engine: Engine, writes: sessionmaker[Session], terms: dict[str, object]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    partner = DemoPartner(f"dp-rl-{suffix}", "Rate limited", "DE", "DE281045677", "EUR", f"k-{suffix}")
    with writes.begin() as db:
        ensure_demand_partner(db, partner, terms, now=NOW)
    app, context = limited_app(engine)
    context.partners.put(sha256_hex("a-key"), DemandPartner(partner.id, "EUR"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        replies = await starts(http, "a-key", 51)
    assert [r.status_code for r in replies].count(202) == 50
    assert replies[-1].status_code == 429


def authenticating_app(engine: Engine, failures: RateLimit) -> tuple[FastAPI, SimpleNamespace]:
    """A partner route behind the real authentication (a key in the cache works, any other is 401)."""
    app = FastAPI()

    @app.post("/v1/sessions", status_code=202)
    async def start(partner: DemandPartnerDep) -> dict[str, str]:
        return {"partner": partner.id}

    policy = RateLimitPolicy(session_starts=RateLimit(0.01, 1000), cpo_messages=RateLimit(0.01, 1000))
    app.add_middleware(RateLimits, policy=replace(policy, auth_failures=failures))
    context = SimpleNamespace(
        partners=CredentialCache[DemandPartner](),
        cpos=CredentialCache[OcpiCaller](),
        reads=make_read_session_factory(engine),
    )
    app.state.context = context
    return app, context


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 4711)), base_url="http://api")


async def test_an_address_that_keeps_failing_authentication_gets_429_and_other_addresses_and_known_keys_do_not(
    engine: Engine,
) -> None:
    app, context = authenticating_app(engine, RateLimit(0.01, 5))
    context.partners.put(sha256_hex("good-key"), DemandPartner("dp-good", "EUR"))
    async with client_at(app, "203.0.113.7") as guesser, client_at(app, "198.51.100.1") as other:
        guesses = [await guesser.post("/v1/sessions", headers=bearer(f"guess-{n}"), json={}) for n in range(8)]
        unauthenticated = await guesser.post("/v1/sessions", json={})
        ocpi_guess = await guesser.put(OCPI_SESSION, headers={"Authorization": "Token Z3Vlc3M="}, json={})
        known = await guesser.post("/v1/sessions", headers=bearer("good-key"), json={})
        elsewhere = await other.post("/v1/sessions", headers=bearer("guess-elsewhere"), json={})
    assert [r.status_code for r in guesses] == [401] * 5 + [429] * 3
    assert int(guesses[-1].headers["Retry-After"]) >= 1
    assert "too many failed authentications" in guesses[-1].json()["detail"]
    assert unauthenticated.status_code == 429, "no credential: refused before it is looked at"
    assert (ocpi_guess.status_code, ocpi_guess.json()["status_code"]) == (429, 2000), "the OCPI envelope"
    assert known.status_code == 202, "a key that works is served, whatever its address did"
    assert elsewhere.status_code == 401, "another address has failures of its own to spend"


async def test_failed_authentications_are_forgiven_at_the_policys_rate(engine: Engine) -> None:
    app, _ = authenticating_app(engine, RateLimit(20, 2))
    async with client_at(app, "203.0.113.8") as guesser:
        burst = [await guesser.post("/v1/sessions", headers=bearer(f"guess-{n}"), json={}) for n in range(3)]
        await asyncio.sleep(0.2)  # four failures' worth of refill, capped at the burst
        later = await guesser.post("/v1/sessions", headers=bearer("guess-later"), json={})
    assert [r.status_code for r in burst] == [401, 401, 429]
    assert later.status_code == 401
