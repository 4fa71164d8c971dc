"""FastAPI dependencies: the context, and who is calling (a demand partner or a CPO)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext
from domain.parties import Cpo, DemandPartner
from persistence import repositories as repo
from services import partners


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def get_context(request: Request) -> ApiContext:
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


async def current_cpo(context: ContextDep, authorization: Annotated[str | None, Header()] = None) -> Cpo:
    token = ocpi_token(authorization)
    if token is None:
        raise HTTPException(401, "send your OCPI credentials as 'Authorization: Token <base64 token>'")

    def lookup(candidate: str) -> Cpo | None:
        digest = sha256_hex(candidate)
        cached = context.cpos.get(digest)
        if cached is not None:
            return cached
        with context.reads() as db:
            found = repo.cpo_for_token(db, digest)
        if found is not None:
            context.cpos.put(digest, found)
        return found

    cpo = context.cpos.get(sha256_hex(token)) or await run_in_threadpool(lookup, token)
    if cpo is None and authorization is not None:
        # A raw token that happens to be valid Base64 decodes to garbage: try it as sent.
        cpo = await run_in_threadpool(lookup, authorization.partition(" ")[2].strip())
    if cpo is None:
        context.cpos.forget(sha256_hex(token))  # its messages no longer count as its former holder's
    if cpo is None or not cpo.active:
        raise HTTPException(401, "unknown OCPI credentials token")
    return cpo


CpoDep = Annotated[Cpo, Depends(current_cpo)]


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
