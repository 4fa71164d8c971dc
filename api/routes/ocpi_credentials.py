"""OCPI 2.2.1 Credentials module, our eMSP's side (``services/ocpi/credentials.py`` has the rules): a CPO
registers with token A (POST), rotates its token (PUT), reads our credentials (GET) and unregisters
(DELETE). Every answer is the OCPI envelope; a POST of a registered CPO, or a PUT or DELETE with token A,
is 405 (the spec's credentials misuse). Tokens are never logged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from api.deps import ContextDep, OcpiCallerDep, PresentedToken, RotatingCallerDep
from api.responses import refusals
from api.routes.ocpi import ANSWERED, OCPI_BODY, UNREAD, VERSION_PATH, envelope, ocpi_answer, receive_body
from domain.parties import Cpo
from messages.ocpi import OcpiStatus
from services.ocpi import credentials
from services.ocpi.inbox import Kind

router = APIRouter(prefix=VERSION_PATH, tags=["OCPI 2.2.1 (for CPOs)"])

# A Credentials object: a token, a URL and a few roles with their business details.
CREDENTIALS_BODY_LIMIT = 16 << 10

MISUSE = {405: "POST when registered, PUT or DELETE when not (status 2000)"}
EXCHANGE_ANSWERS = {**ANSWERED, **refusals(400, 401, 405, 413, 429, ocpi=True, why={**UNREAD, **MISUSE})}


async def credentials_caller(presented: OcpiCallerDep) -> PresentedToken:
    """A CPO we know: a connection of ours still waiting for the reply of a CPO we register with has no
    credentials to show or change (async: no worker thread for a dependency that awaits nothing)."""
    if presented.caller.cpo is None:
        raise HTTPException(401, "unknown OCPI credentials token")
    return presented


CredentialsCallerDep = Annotated[PresentedToken, Depends(credentials_caller)]


async def rotating_credentials_caller(presented: RotatingCallerDep) -> PresentedToken:
    """As ``credentials_caller``, and the token a PUT replaced, which may repeat that PUT."""
    return await credentials_caller(presented)


RotatingCredentialsCallerDep = Annotated[PresentedToken, Depends(rotating_credentials_caller)]


def _cpo(presented: PresentedToken) -> Cpo:
    cpo = presented.caller.cpo
    assert cpo is not None  # credentials_caller
    return cpo


@router.get(
    "/credentials",
    responses={**ANSWERED, **refusals(401, 429, ocpi=True)},
    summary="Credentials GET: ours, with the token you call us with",
)
async def get_ocpi_credentials(presented: CredentialsCallerDep, context: ContextDep) -> Response:
    ours = credentials.our_platform(context.public_base_url, context.ocpi_role, context.peers)
    data = ours.credentials(presented.token).model_dump(mode="json", exclude_none=True)
    return envelope(OcpiStatus.SUCCESS, "Success", data=data)


@router.post(
    "/credentials",
    openapi_extra=OCPI_BODY,
    responses=EXCHANGE_ANSWERS,
    summary="Credentials POST: register with token A; the answer is ours, with your token C",
)
async def post_ocpi_credentials(request: Request, presented: CredentialsCallerDep, context: ContextDep) -> Response:
    ours = credentials.our_platform(context.public_base_url, context.ocpi_role, context.peers)
    correlation_id = request.headers.get("X-Correlation-ID")
    reply = await receive_body(
        request,
        context,
        _cpo(presented),
        (Kind.CREDENTIALS, "POST", CREDENTIALS_BODY_LIMIT),
        lambda body: credentials.register(
            context,
            presented.caller,
            presented.token_sha256,
            body,
            ours,
            correlation_id=correlation_id,
            now=datetime.now(UTC),
        ),
    )
    # A re-issued token A replaces a registration: its token stops working in this process at once.
    context.cpos.forget_holders(lambda caller: caller.connection_key == presented.caller.connection_key)
    return reply


@router.put(
    "/credentials",
    openapi_extra=OCPI_BODY,
    responses=EXCHANGE_ANSWERS,
    summary="Credentials PUT: new credentials (token B, versions URL); the answer has your new token C "
    "(the replaced token may repeat this PUT for 5 minutes)",
)
async def put_ocpi_credentials(
    request: Request, presented: RotatingCredentialsCallerDep, context: ContextDep
) -> Response:
    ours = credentials.our_platform(context.public_base_url, context.ocpi_role, context.peers)
    correlation_id = request.headers.get("X-Correlation-ID")
    reply = await receive_body(
        request,
        context,
        _cpo(presented),
        (Kind.CREDENTIALS, "PUT", CREDENTIALS_BODY_LIMIT),
        lambda body: credentials.rotate(
            context,
            presented.caller,
            presented.token_sha256,
            body,
            ours,
            correlation_id=correlation_id,
            now=datetime.now(UTC),
        ),
    )
    # The old token stops working in this process at once (others: within the cache's few seconds).
    context.cpos.forget(presented.token_sha256)
    return reply


@router.delete(
    "/credentials",
    responses={**ANSWERED, **refusals(401, 405, 429, ocpi=True, why=MISUSE)},
    summary="Credentials DELETE: unregister; your token stops working",
)
async def delete_ocpi_credentials(presented: CredentialsCallerDep, context: ContextDep) -> Response:
    result = await credentials.unregister(context, presented.caller, presented.token_sha256, now=datetime.now(UTC))
    context.cpos.forget(presented.token_sha256)
    return ocpi_answer(result)
