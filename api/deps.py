"""FastAPI dependencies: the context, and who is calling (a demand partner or a CPO)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext
from domain.parties import DemandPartner
from persistence import ocpi_connections as connections
from persistence import repositories as repo
from persistence.ocpi_connections import OcpiCaller
from services import partners


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def get_context(request: Request) -> ApiContext:
    # async though it awaits nothing: FastAPI runs a dependency written as a plain function on a worker
    # thread, a thread hop for every request (a third of dependency solving in a profile of the API).
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]


async def current_demand_partner(
    context: ContextDep, authorization: Annotated[str | None, Header()] = None
) -> DemandPartner:
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise HTTPException(401, "send your API key as 'Authorization: Bearer <key>'", {"WWW-Authenticate": "Bearer"})

    digest = sha256_hex(key.strip())
    partner = context.partners.get(digest)
    if partner is None:
        # An inactive partner's, a revoked or an expired key finds nobody.
        holder = await run_in_threadpool(lambda: partners.key_holder(context.reads, digest, now=datetime.now(UTC)))
        if holder is None:
            context.partners.forget(digest)  # its requests no longer count as its former holder's
            raise HTTPException(401, "unknown, expired or revoked API key", {"WWW-Authenticate": "Bearer"})
        partner = holder.partner
        context.partners.put(digest, partner, expires_at=holder.expires_at)
    return partner


DemandPartnerDep = Annotated[DemandPartner, Depends(current_demand_partner)]


def ocpi_token(authorization: str | None) -> str | None:
    """The credentials token from ``Authorization: Token ...``: Base64 as 2.2.1 asks, or raw as older
    peers send it."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "token" or not value.strip():
        return None
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value
    return decoded if decoded.isprintable() else value


@dataclass(frozen=True, slots=True)
class PresentedToken:
    """An OCPI caller, and the digest of the token it presented (what a rotation or an unregistration
    replaces)."""

    caller: OcpiCaller
    token: str  # as it matched: what GET credentials echoes
    token_sha256: str


async def _presented_token(context: ApiContext, authorization: str | None) -> PresentedToken:
    """The caller of the ``Authorization: Token`` header: its Base64 decoding first, then the raw value (a
    raw token that happens to be valid Base64 decodes to garbage)."""

    def lookup(digest: str) -> OcpiCaller | None:
        with context.reads() as db:
            return connections.caller_for_token(db, digest, now=datetime.now(UTC))

    token = ocpi_token(authorization)
    if token is None or authorization is None:
        raise HTTPException(401, "send your OCPI credentials as 'Authorization: Token <base64 token>'")
    for candidate in dict.fromkeys((token, authorization.partition(" ")[2].strip())):
        digest = sha256_hex(candidate)
        caller = await run_in_threadpool(lookup, digest)
        if caller is not None:
            return PresentedToken(caller, candidate, digest)
    raise HTTPException(401, "unknown OCPI credentials token")


async def current_cpo(context: ContextDep, authorization: Annotated[str | None, Header()] = None) -> OcpiCaller:
    """The registered connection of the token, for the functional modules (a registration token, or one a
    PUT replaced, is 401 here): its CPO, and every CPO party it carries. Cached: this runs on every
    message."""
    token = ocpi_token(authorization)
    cached = None if token is None else context.cpos.get(sha256_hex(token))
    if cached is not None:
        return cached

    try:
        presented = await _presented_token(context, authorization)
    except HTTPException:
        if token is not None:
            context.cpos.forget(sha256_hex(token))  # its messages no longer count as its former holder's
        raise
    caller = presented.caller
    if caller.registering or caller.superseded or caller.cpo is None or not caller.cpo.active:
        context.cpos.forget(presented.token_sha256)
        raise HTTPException(401, "unknown OCPI credentials token")
    context.cpos.put(presented.token_sha256, caller)
    return caller


async def _configuration_caller(
    context: ApiContext, authorization: str | None, *, repeating_rotation: bool
) -> PresentedToken:
    """Looked up every time, never cached: token A is single-use, and a rotation or an unregistration
    takes effect at once. A token a PUT replaced passes only to repeat that PUT."""
    presented = await _presented_token(context, authorization)
    caller = presented.caller
    if caller.superseded and not repeating_rotation:
        raise HTTPException(401, "unknown OCPI credentials token")
    if not caller.registering and (caller.cpo is None or not caller.cpo.active):
        raise HTTPException(401, "unknown OCPI credentials token")
    return presented


async def current_ocpi_caller(
    context: ContextDep, authorization: Annotated[str | None, Header()] = None
) -> PresentedToken:
    """Whoever may use the configuration modules (versions, credentials): a registered CPO, or one
    registering with its registration token."""
    return await _configuration_caller(context, authorization, repeating_rotation=False)


async def rotating_ocpi_caller(
    context: ContextDep, authorization: Annotated[str | None, Header()] = None
) -> PresentedToken:
    """Who may PUT credentials: as ``current_ocpi_caller``, and the token a PUT replaced, within its grace
    (it may repeat that PUT: ``services/ocpi/credentials.py`` decides)."""
    return await _configuration_caller(context, authorization, repeating_rotation=True)


OcpiCallerDep = Annotated[PresentedToken, Depends(current_ocpi_caller)]
RotatingCallerDep = Annotated[PresentedToken, Depends(rotating_ocpi_caller)]
CpoDep = Annotated[OcpiCaller, Depends(current_cpo)]


async def current_operator(context: ContextDep, authorization: Annotated[str | None, Header()] = None) -> str:
    """The operator named by the Bearer key (``networkcore operators add``): who decides, on the record.
    Looked up on every call, so a revoked key stops at once."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise HTTPException(
            401, "send your operator key as 'Authorization: Bearer <key>'", {"WWW-Authenticate": "Bearer"}
        )
    digest = sha256_hex(key.strip())

    def lookup() -> str | None:
        with context.reads() as db:
            return repo.operator_for_key(db, digest)

    operator = await run_in_threadpool(lookup)
    if operator is None:
        raise HTTPException(403, "not an operator key (or revoked)")
    return operator


OperatorDep = Annotated[str, Depends(current_operator)]
