"""Rate limits: one token bucket per demand partner for session starts (``POST /v1/sessions``) and one per
CPO for OCPI messages, so no caller's flood slows the others. A refused request gets 429 with
``Retry-After`` (the OCPI envelope, status 2000, on OCPI routes) before its body is read or the database is
touched.

Failed authentications (401, on any route) are limited per client address: once an address has failed
too often, a request from it that carries no credential known to have authenticated gets 429 before it is
looked up, so tokens and keys cannot be guessed at speed (ocpi-connect.md §3.6), while the parties behind
that address whose credentials work are still served.

The caller is told apart by its credential, before authentication: once a credential has authenticated
(``ApiContext``'s credential caches, ``last_known``: also while it is authenticated again), its bucket is
its party's (every key of a partner shares one) and its limit is its contract's ``rate_limit``, else the
default. The buckets live in this process: with several API processes, each allows the rate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import ApiContext
from api.deps import ocpi_token, sha256_hex
from api.refusals import is_ocpi_path, retry_later
from domain.rate_limits import RateLimit, TokenBucket
from messages.ocpi import OcpiStatus
from persistence.outages import DATABASE_UNAVAILABLE
from services.rate_limits import ContractRateLimits, contract_rate_limits

log = logging.getLogger(__name__)

SESSION_STARTS: Final = "/v1/sessions"
MAX_BUCKETS: Final = 10_000  # unknown credentials each get one; the least recently used go first
# A client may mistype a key now and then; a guesser needs thousands a second.
AUTH_FAILURES: Final = RateLimit(per_second=1, burst=20)
AUTH_FAILED: Final = 401
# The buckets of credentials that authenticated (a party's); the others are credentials still unknown.
KNOWN_CALLERS: Final = ("partner", "cpo")


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    session_starts: RateLimit  # per demand partner, unless its contract says otherwise
    cpo_messages: RateLimit  # per CPO, unless its contract says otherwise
    contracts_refresh_s: float = 60.0  # how stale a contract's rate_limit may be
    auth_failures: RateLimit = AUTH_FAILURES  # failed authentications per client address


class RateLimits:
    """ASGI middleware; reads the ``ApiContext`` from ``app.state.context``."""

    def __init__(self, app: ASGIApp, policy: RateLimitPolicy) -> None:
        self.app = app
        self.policy = policy
        self._buckets: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()
        self._contracts = ContractRateLimits({}, {})
        self._contracts_read_at: float | None = None
        self._refreshing = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        caller = await self._caller(scope)
        address = scope["client"][0] if scope.get("client") else "unknown"
        failures = ("auth-failures", address)
        known = caller is not None and caller[0][0] in KNOWN_CALLERS
        if not known and failures in self._buckets:
            retry_after_s = self._bucket(failures, self.policy.auth_failures).wait_s(time.monotonic())
            if retry_after_s:
                limit = self.policy.auth_failures
                message = (
                    f"too many failed authentications from your address ({limit.burst}, then {limit.per_second:g}/s)"
                )
                await self._refuse(scope, receive, send, message, retry_after_s)
                return
        if caller is not None:
            bucket_key, limit = caller
            retry_after_s = self._bucket(bucket_key, limit).take(time.monotonic())
            if retry_after_s:
                message = f"rate limit: {limit.per_second:g} requests/s, bursts of {limit.burst}; retry later"
                await self._refuse(scope, receive, send, message, retry_after_s)
                return

        async def counting_failures(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == AUTH_FAILED:
                self._bucket(failures, self.policy.auth_failures).take(time.monotonic())
            await send(message)

        # A credential that authenticated is not watched (the hot path stays as it was); refused once, it is
        # forgotten, so its next request is.
        await self.app(scope, receive, send if known else counting_failures)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, message: str, retry_after_s: int) -> None:
        refusal = retry_later(
            scope["path"], 429, message, retry_after_s=retry_after_s, ocpi_status=OcpiStatus.CLIENT_ERROR
        )
        await refusal(scope, receive, send)

    async def _caller(self, scope: Scope) -> tuple[tuple[str, str], RateLimit] | None:
        """The bucket and limit of the request, or None when it is not limited (or has no credential:
        authentication will refuse it)."""
        path, method = scope["path"], scope["method"]
        authorization = _header(scope, b"authorization")
        if authorization is None:
            return None
        context: ApiContext = scope["app"].state.context
        if method == "POST" and path.rstrip("/") == SESSION_STARTS:
            scheme, _, key = authorization.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                return None
            digest = sha256_hex(key.strip())
            partner = context.partners.last_known(digest)
            if partner is None:
                return ("partner-key", digest), self.policy.session_starts
            contracts = await self._contract_limits(context)
            return self._party_bucket(("partner-key", digest), ("partner", partner.id)), contracts.partners.get(
                partner.id, self.policy.session_starts
            )
        if is_ocpi_path(path):
            token = ocpi_token(authorization)
            if token is None:
                return None
            digest = sha256_hex(token)
            caller = context.cpos.last_known(digest)
            cpo = None if caller is None else caller.cpo
            if cpo is None:
                return ("cpo-token", digest), self.policy.cpo_messages
            contracts = await self._contract_limits(context)
            return self._party_bucket(("cpo-token", digest), ("cpo", cpo.id)), contracts.cpos.get(
                cpo.id, self.policy.cpo_messages
            )
        return None

    def _party_bucket(self, credential: tuple[str, str], party: tuple[str, str]) -> tuple[str, str]:
        """The party's bucket key; the first time, it takes over what its credential used before it
        authenticated, so authenticating does not refill the bucket."""
        if party not in self._buckets and credential in self._buckets:
            self._buckets[party] = self._buckets.pop(credential)
        return party

    def _bucket(self, key: tuple[str, str], limit: RateLimit) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket.full(limit, time.monotonic())
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.limit = limit  # a contract changed: the new rate applies from now on
        return bucket

    async def _contract_limits(self, context: ApiContext) -> ContractRateLimits:
        """The contracts' limits, read again when older than the policy allows; while the database is
        away, the last ones read."""
        read_at = self._contracts_read_at
        if read_at is not None and time.monotonic() - read_at < self.policy.contracts_refresh_s:
            return self._contracts
        async with self._refreshing:
            if self._contracts_read_at == read_at:
                try:
                    self._contracts = await run_in_threadpool(
                        contract_rate_limits,
                        context.reads,
                        partner_default=self.policy.session_starts,
                        cpo_default=self.policy.cpo_messages,
                    )
                except DATABASE_UNAVAILABLE:
                    log.warning("contracts' rate limits not read (database unavailable); keeping the last ones")
                self._contracts_read_at = time.monotonic()
        return self._contracts


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
