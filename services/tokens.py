"""A demand partner's drivers' tokens (``/v1/tokens``): registered with their fields checked (an RFID uid
in hex, a contract id that is an eMA-ID with a right check character), listed, read and changed (blocked,
whitelist, validity). A partner only ever sees its own: another's token is not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import anyio.to_thread

from domain.partners import FieldInvalid
from domain.tokens import TokenType, WhitelistType, check_uid, normalised_contract_id
from persistence import tokens
from persistence.db import SessionFactory
from persistence.tokens import StoredToken, TokenChanges, TokenFields


class TokenNotFound(Exception):
    """No such token among the partner's (it may be another partner's: they never learn which)."""


@dataclass(frozen=True, slots=True)
class TokenRequest:
    uid: str
    type: TokenType
    contract_id: str
    visual_number: str | None
    issuer: str
    whitelist: WhitelistType
    valid: bool
    valid_until: datetime | None
    language: str | None


def checked_fields(request: TokenRequest, *, now: datetime) -> TokenFields:
    """The request's fields, or ``FieldInvalid`` naming the first one refused."""
    check_uid(request.uid, request.type)
    if request.valid_until is not None and request.valid_until <= now:
        raise FieldInvalid("valid_until", "must be in the future (block a token with valid: false)")
    return TokenFields(
        uid=request.uid,
        type=request.type,
        contract_id=request.contract_id,
        normalised_contract_id=normalised_contract_id(request.contract_id),
        visual_number=request.visual_number,
        issuer=request.issuer,
        whitelist=request.whitelist,
        valid=request.valid,
        valid_until=request.valid_until,
        language=request.language,
    )


async def register_token(writes: SessionFactory, demand_partner_id: str, request: TokenRequest) -> StoredToken:
    """Raises ``FieldInvalid`` or ``persistence.tokens.TokenTaken`` (uid + type registered already)."""
    now = datetime.now(UTC)
    fields = checked_fields(request, now=now)

    def store() -> StoredToken:
        with writes.begin() as db:
            return tokens.add_token(db, demand_partner_id, fields, now=now)

    return await anyio.to_thread.run_sync(store)


async def partner_token(reads: SessionFactory, demand_partner_id: str, uid: str, token_type: TokenType) -> StoredToken:
    def load() -> StoredToken | None:
        with reads() as db:
            return tokens.partner_token(db, demand_partner_id, uid, token_type)

    found = await anyio.to_thread.run_sync(load)
    if found is None:
        raise TokenNotFound(uid)
    return found


async def partner_tokens_page(
    reads: SessionFactory, demand_partner_id: str, *, limit: int, after_key: int | None
) -> list[StoredToken]:
    def load() -> list[StoredToken]:
        with reads() as db:
            return tokens.partner_tokens(db, demand_partner_id, limit=limit, after_key=after_key)

    return await anyio.to_thread.run_sync(load)


async def change_token(
    writes: SessionFactory, demand_partner_id: str, uid: str, token_type: TokenType, changes: TokenChanges
) -> StoredToken:
    """Raises ``FieldInvalid`` for a ``valid_until`` in the past, ``TokenNotFound`` for none of the partner's."""
    now = datetime.now(UTC)
    if changes.valid_until is not None and changes.valid_until <= now:
        raise FieldInvalid("valid_until", "must be in the future (block a token with valid: false)")

    def store() -> StoredToken | None:
        with writes.begin() as db:
            return tokens.change_token(db, demand_partner_id, uid, token_type, changes, now=now)

    changed = await anyio.to_thread.run_sync(store)
    if changed is None:
        raise TokenNotFound(uid)
    return changed
