"""OCPI 2.2.1 Tokens, our Sender: any registered CPO pulls our partners' drivers' tokens (paginated,
``api/ocpi_pagination.py``) and authorises one in real time at
``/ocpi/emsp/2.2.1/tokens/{token_uid}/authorize[?type=RFID]``. What an authorisation decides is
``services/ocpi/tokens.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep
from api.limits import BodyTooLarge, json_problem_of, read_body
from api.ocpi_pagination import Page, PageQuery, serve_page
from api.responses import Responses, refusals
from api.routes.ocpi import VERSION_PATH, RoutedCpoDep, envelope
from api.schemas import OcpiEnvelope
from domain.tokens import TokenType
from messages.ocpi import LocationReferences, OcpiStatus
from services.ocpi import tokens

router = APIRouter(prefix=f"{VERSION_PATH}/tokens", tags=["OCPI 2.2.1 (for CPOs)"])

# LocationReferences: a Location id and its EVSE uids; even a large site's list stays well under this.
AUTHORIZE_BODY_LIMIT = 64 << 10

LIST_ANSWERS: Responses = {
    200: {
        "model": OcpiEnvelope,
        "description": "A page of Tokens, oldest first (status 1000), or 2001 naming the parameter refused",
        "headers": {
            "X-Total-Count": {"description": "Tokens that match, all pages", "schema": {"type": "string"}},
            "X-Limit": {"description": "Our largest page", "schema": {"type": "string"}},
            "Link": {"description": 'The next page: <url>; rel="next"', "schema": {"type": "string"}},
        },
    },
    **refusals(401, 429, ocpi=True),
}
AUTHORIZE_ANSWERS: Responses = {
    200: {
        "model": OcpiEnvelope,
        "description": "An AuthorizationInfo (ALLOWED, BLOCKED, EXPIRED, NO_CREDIT, NOT_ALLOWED) with 1000; "
        "2002 when a Location is needed; 2001 for a body or type we do not read",
    },
    **refusals(
        400,
        401,
        404,
        413,
        429,
        ocpi=True,
        why={
            400: "The body is not JSON (status 2000)",
            404: "Unknown token (status 2004, no data)",
            413: "The body is over this route's limit (status 2000)",
        },
    ),
}
AUTHORIZE_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": LocationReferences.model_json_schema()}},
    }
}


def _party(context: ContextDep) -> tokens.OurParty:
    return tokens.OurParty(context.ocpi_role.country_code, context.ocpi_role.party_id)


@router.get("", responses=LIST_ANSWERS, summary="Tokens: our partners' drivers' tokens, for a CPO's cache")
async def list_ocpi_tokens(request: Request, _: RoutedCpoDep, context: ContextDep) -> Response:
    """Blocked and expired tokens are listed too, with ``valid`` false."""

    def load(query: PageQuery) -> Page:
        with context.reads() as db:
            found, total = tokens.tokens_page(
                db,
                _party(context),
                date_from=query.date_from,
                date_to=query.date_to,
                offset=query.offset,
                limit=query.limit,
            )
        return Page(found, total)

    async def load_off_the_loop(query: PageQuery) -> Page:
        return await run_in_threadpool(load, query)

    return await serve_page(request, context.public_base_url, load_off_the_loop)


@router.post(
    "/{token_uid}/authorize",
    openapi_extra=AUTHORIZE_BODY,
    responses=AUTHORIZE_ANSWERS,
    summary="Real-time authorisation of a token",
)
async def authorize_ocpi_token(
    token_uid: str,
    request: Request,
    cpo: RoutedCpoDep,
    context: ContextDep,
    type: Annotated[TokenType, Query(description="RFID when absent")] = TokenType.RFID,
) -> Response:
    try:
        body = await read_body(request, AUTHORIZE_BODY_LIMIT)
    except BodyTooLarge as too_large:
        return envelope(OcpiStatus.CLIENT_ERROR, str(too_large), http_status=413)
    location = None
    if body.strip():
        problem = await json_problem_of(body)
        if problem is not None:
            return envelope(OcpiStatus.CLIENT_ERROR, problem, http_status=400)
        try:
            location = LocationReferences.model_validate_json(body)
        except ValidationError as invalid:
            return envelope(OcpiStatus.INVALID_PARAMETERS, f"LocationReferences: {invalid.errors()[0]['msg']}")

    def decide() -> tokens.AuthorisationAnswer | None:
        with context.writes.begin() as db:
            return tokens.authorise_token(db, cpo, _party(context), token_uid, type, location, now=datetime.now(UTC))

    try:
        answer = await run_in_threadpool(decide)
    except tokens.LocationNeeded as needed:
        return envelope(OcpiStatus.NOT_ENOUGH_INFORMATION, str(needed))
    if answer is None:
        return envelope(OcpiStatus.UNKNOWN_TOKEN, "unknown token", http_status=404)
    return envelope(OcpiStatus.SUCCESS, "Success", data=answer.info)
