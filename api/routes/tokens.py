"""Demand partners register their drivers' tokens, which CPOs pull (OCPI Tokens) and authorise in real
time: RFID cards, app users and Plug & Charge contract ids. A partner never sees another's (404)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from api.deps import ContextDep, DemandPartnerDep
from api.pagination import key_cursor, parse_key_cursor
from api.responses import refusals
from api.schemas import PRINTABLE_ASCII, TokenChange, TokenCreate, TokenPage, TokenRead
from domain.partners import FieldInvalid
from domain.tokens import TokenType
from persistence.tokens import StoredToken, TokenChanges, TokenTaken
from services import tokens as service

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/tokens", tags=["tokens"])
UidPath = Annotated[str, Path(max_length=36, pattern=PRINTABLE_ASCII)]
TypeQuery = Annotated[TokenType, Query(description="The token's type; RFID when absent, as in OCPI")]

NOT_FOUND = {404: "No such token among yours"}


def _read(token: StoredToken) -> TokenRead:
    fields = token.fields
    return TokenRead(
        uid=fields.uid,
        type=fields.type,
        contract_id=fields.contract_id,
        normalised_contract_id=fields.normalised_contract_id,
        visual_number=fields.visual_number,
        issuer=fields.issuer,
        whitelist=fields.whitelist,
        valid=fields.valid,
        valid_until=fields.valid_until,
        language=fields.language,
        created_at=token.created_at,
        last_updated=token.last_updated,
    )


@router.post(
    "",
    status_code=201,
    response_model=TokenRead,
    responses=refusals(400, 401, 409, 422, why={409: "A token of this type with this uid is registered already"}),
    summary="Register a driver's token",
)
async def create_token(body: TokenCreate, partner: DemandPartnerDep, context: ContextDep) -> TokenRead:
    """uid + type is unique across the platform. CPOs see it at their next pull of our Tokens module."""
    request = service.TokenRequest(
        uid=body.uid,
        type=body.type,
        contract_id=body.contract_id,
        visual_number=body.visual_number,
        issuer=body.issuer,
        whitelist=body.whitelist,
        valid=body.valid,
        valid_until=body.valid_until,
        language=body.language,
    )
    try:
        token = await service.register_token(context.writes, partner.id, request)
    except FieldInvalid as invalid:
        raise HTTPException(422, str(invalid)) from invalid
    except TokenTaken as taken:
        raise HTTPException(409, str(taken)) from taken
    log.info("token %s registered by %s", token.key, partner.id)
    return _read(token)


@router.get(
    "",
    response_model=TokenPage,
    responses=refusals(400, 401, 422, why={400: "The cursor is not one we issued"}),
    summary="Your tokens, oldest first",
)
async def list_tokens(
    partner: DemandPartnerDep,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> TokenPage:
    after = None if cursor is None else parse_key_cursor(cursor)
    # One more than asked: whether there is a next page.
    found = await service.partner_tokens_page(context.reads, partner.id, limit=limit + 1, after_key=after)
    page = found[:limit]
    return TokenPage(
        data=[_read(token) for token in page], next_cursor=key_cursor(page[-1].key) if len(found) > limit else None
    )


@router.get(
    "/{uid}", response_model=TokenRead, responses=refusals(401, 404, 422, why=NOT_FOUND), summary="One of your tokens"
)
async def get_token(
    uid: UidPath, partner: DemandPartnerDep, context: ContextDep, type: TypeQuery = TokenType.RFID
) -> TokenRead:
    try:
        return _read(await service.partner_token(context.reads, partner.id, uid, type))
    except service.TokenNotFound as error:
        raise HTTPException(404, "no such token") from error


@router.patch(
    "/{uid}",
    response_model=TokenRead,
    responses=refusals(400, 401, 404, 422, why=NOT_FOUND),
    summary="Block or unblock a token, change its whitelist or expiry",
)
async def change_token(
    uid: UidPath, body: TokenChange, partner: DemandPartnerDep, context: ContextDep, type: TypeQuery = TokenType.RFID
) -> TokenRead:
    """Only the fields sent change (``valid_until: null`` removes the expiry); CPOs see the change at their
    next pull, and real-time authorisations at once."""
    changes = TokenChanges(
        valid=body.valid,
        whitelist=body.whitelist,
        valid_until=body.valid_until,
        clear_valid_until="valid_until" in body.model_fields_set and body.valid_until is None,
    )
    try:
        token = await service.change_token(context.writes, partner.id, uid, type, changes)
    except FieldInvalid as invalid:
        raise HTTPException(422, str(invalid)) from invalid
    except service.TokenNotFound as error:
        raise HTTPException(404, "no such token") from error
    log.info("token %s changed by %s", token.key, partner.id)
    return _read(token)
