"""OCPI 2.2.1 Locations, our Receiver: PUT, PATCH and GET of a CPO's Location, EVSE and Connector, at
``/ocpi/emsp/2.2.1/locations/{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]``. What
each message does is ``services/ocpi/locations.py``; the body limits, envelope and routing headers are those
of every OCPI route (``api/routes/ocpi.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.context import ApiContext
from api.deps import ContextDep
from api.responses import refusals
from api.routes.ocpi import (
    ANSWERED,
    BODY_ANSWERS,
    CREATED,
    OCPI_BODY,
    VERSION_PATH,
    RoutedCpoDep,
    envelope,
    receive_body,
)
from domain.parties import Cpo
from messages.ocpi import OcpiStatus
from services.ocpi import locations
from services.ocpi.inbox import Kind

router = APIRouter(prefix=f"{VERSION_PATH}/locations", tags=["OCPI 2.2.1 (for CPOs)"])

# A Location carries all its EVSEs and their connectors: a large site (hundreds of EVSEs, with images and
# opening hours) stays well under 1 MiB.
LOCATION_BODY_LIMIT = 1 << 20

LOCATION = "/{country_code}/{party_id}/{location_id}"
EVSE = LOCATION + "/{evse_uid}"
CONNECTOR = EVSE + "/{connector_id}"

PUT_ANSWERS = {
    **BODY_ANSWERS,
    **CREATED,
    **refusals(404, ocpi=True, why={404: "Not your party (2000), or under a Location or EVSE we do not know (2003)"}),
}
PATCH_ANSWERS = {
    **BODY_ANSWERS,
    **refusals(404, ocpi=True, why={404: "Not your party (2000), or an object we do not know (2003): PUT it"}),
}
GET_ANSWERS = {**ANSWERED, **refusals(401, 404, 429, ocpi=True, why={404: "No such object of yours (2003)"})}


async def _put(request: Request, context: ApiContext, cpo: Cpo, path: tuple[str, ...]) -> Response:
    unread = (Kind.LOCATION_PUT, locations.object_id(path), LOCATION_BODY_LIMIT)
    return await receive_body(
        request, context, cpo, unread, lambda body: locations.receive_put(context, cpo, path, body)
    )


async def _patch(request: Request, context: ApiContext, cpo: Cpo, path: tuple[str, ...]) -> Response:
    unread = (Kind.LOCATION_PATCH, locations.object_id(path), LOCATION_BODY_LIMIT)
    return await receive_body(
        request, context, cpo, unread, lambda body: locations.receive_patch(context, cpo, path, body)
    )


async def _get(context: ApiContext, cpo: Cpo, path: tuple[str, ...]) -> Response:
    def load() -> locations.Document | None:
        with context.reads() as db:
            return locations.object_at(db, cpo, path)

    document = await run_in_threadpool(load)
    if document is None:
        return envelope(OcpiStatus.UNKNOWN_LOCATION, "no such object of yours", http_status=404)
    return envelope(OcpiStatus.SUCCESS, "Success", data=document)


@router.put(LOCATION, openapi_extra=OCPI_BODY, responses=PUT_ANSWERS, summary="Location PUT")
async def put_location(
    country_code: str, party_id: str, location_id: str, request: Request, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    return await _put(request, context, cpo, (country_code, party_id, location_id))


@router.patch(LOCATION, openapi_extra=OCPI_BODY, responses=PATCH_ANSWERS, summary="Location PATCH")
async def patch_location(
    country_code: str, party_id: str, location_id: str, request: Request, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    return await _patch(request, context, cpo, (country_code, party_id, location_id))


@router.get(LOCATION, responses=GET_ANSWERS, summary="Location GET: our copy")
async def get_location(
    country_code: str, party_id: str, location_id: str, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    return await _get(context, cpo, (country_code, party_id, location_id))


@router.put(EVSE, openapi_extra=OCPI_BODY, responses=PUT_ANSWERS, summary="EVSE PUT")
async def put_evse(
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    request: Request,
    cpo: RoutedCpoDep,
    context: ContextDep,
) -> Response:
    return await _put(request, context, cpo, (country_code, party_id, location_id, evse_uid))


@router.patch(EVSE, openapi_extra=OCPI_BODY, responses=PATCH_ANSWERS, summary="EVSE PATCH")
async def patch_evse(
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    request: Request,
    cpo: RoutedCpoDep,
    context: ContextDep,
) -> Response:
    return await _patch(request, context, cpo, (country_code, party_id, location_id, evse_uid))


@router.get(EVSE, responses=GET_ANSWERS, summary="EVSE GET: our copy")
async def get_evse(
    country_code: str, party_id: str, location_id: str, evse_uid: str, cpo: RoutedCpoDep, context: ContextDep
) -> Response:
    return await _get(context, cpo, (country_code, party_id, location_id, evse_uid))


@router.put(CONNECTOR, openapi_extra=OCPI_BODY, responses=PUT_ANSWERS, summary="Connector PUT")
async def put_connector(
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    request: Request,
    cpo: RoutedCpoDep,
    context: ContextDep,
) -> Response:
    return await _put(request, context, cpo, (country_code, party_id, location_id, evse_uid, connector_id))


@router.patch(CONNECTOR, openapi_extra=OCPI_BODY, responses=PATCH_ANSWERS, summary="Connector PATCH")
async def patch_connector(
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    request: Request,
    cpo: RoutedCpoDep,
    context: ContextDep,
) -> Response:
    return await _patch(request, context, cpo, (country_code, party_id, location_id, evse_uid, connector_id))


@router.get(CONNECTOR, responses=GET_ANSWERS, summary="Connector GET: our copy")
async def get_connector(
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str,
    connector_id: str,
    cpo: RoutedCpoDep,
    context: ContextDep,
) -> Response:
    return await _get(context, cpo, (country_code, party_id, location_id, evse_uid, connector_id))
