"""A simulated CPO connects to the eMSP as any CPO does (OCPI 2.2.1 credentials, flow R): with the eMSP's
versions URL and the token A its operator was given, it reads the eMSP's versions and 2.2.1 details, POSTs
its credentials (a new token B, its versions URL, its CPO role) and keeps the token C of the answer for
every later call; then it publishes its Tariffs and Locations with PUTs to the eMSP's receivers, as the
eMSP's details name them. ``update`` is the credentials PUT: a new token B and its versions URL (after
either side moved), a new C in return."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Final

import httpx

from adapters.cpo import ocpi_request_headers
from adapters.ocpi_client import (
    PeerUnusable,
    VersionUnsupported,
    fetch_version_details,
    post_credentials,
    put_credentials,
)
from messages.ocpi_credentials import BusinessDetails, Credentials, CredentialsRole, VersionDetails
from simulator.config import SimCpo
from simulator.connections import ConnectionStore, EmspConnection, NotConnected, endpoint_url
from simulator.objects import ocpi_locations

OCPI_VERSION: Final = "2.2.1"
PUBLISH_ATTEMPTS: Final = 5
FIRST_PAUSE_S: Final = 0.2
# The simulated CPOs call the eMSP of the stack they run in, on loopback (http there is allowed).
LOCAL_EMSP: Final = True


class RegistrationFailed(Exception):
    """The handshake or a publication failed; the message says where (tokens never appear)."""


@dataclass(frozen=True, slots=True)
class Published:
    tariffs: int
    locations: int


def routed_headers(cpo: SimCpo, connection: EmspConnection, correlation_id: str | None = None) -> dict[str, str]:
    """A request to one of the eMSP's functional modules: our token C and the routing headers."""
    assert connection.token_c is not None
    return {
        **ocpi_request_headers(connection.token_c, correlation_id),
        "Content-Type": "application/json",
        "OCPI-from-country-code": cpo.country_code,
        "OCPI-from-party-id": cpo.party_id,
        "OCPI-to-country-code": connection.emsp_country_code,
        "OCPI-to-party-id": connection.emsp_party_id,
    }


def _our_credentials(cpo: SimCpo, token_b: str, versions_url: str) -> Credentials:
    role = CredentialsRole(
        role="CPO",
        business_details=BusinessDetails(name=cpo.name),
        party_id=cpo.party_id,
        country_code=cpo.country_code,
    )
    return Credentials(token=token_b, url=versions_url, roles=[role])


def _connection(token_b: str, theirs: Credentials, details: VersionDetails) -> EmspConnection:
    emsp = next((role for role in theirs.roles if role.role == "EMSP"), theirs.roles[0])
    return EmspConnection(
        token_b=token_b,
        token_c=theirs.token,
        versions_url=theirs.url,
        emsp_country_code=emsp.country_code,
        emsp_party_id=emsp.party_id,
        endpoints=details.endpoints,
    )


async def register(
    http: httpx.AsyncClient, store: ConnectionStore, cpo: SimCpo, own_versions_url: str, versions_url: str, token_a: str
) -> Published:
    correlation_id = str(uuid.uuid4())
    previous = store.get(cpo.party)
    try:
        details = await fetch_version_details(
            http, versions_url, token_a, version=OCPI_VERSION, allow_insecure=LOCAL_EMSP, correlation_id=correlation_id
        )
        token_b = secrets.token_urlsafe(32)
        # Working before the POST: the eMSP reads our versions with B while it answers.
        store.put(cpo.party, EmspConnection(token_b=token_b, versions_url=versions_url))
        theirs = await post_credentials(
            http,
            endpoint_url(details.endpoints, "credentials"),
            token_a,
            _our_credentials(cpo, token_b, own_versions_url),
            correlation_id=correlation_id,
        )
        if theirs.url != versions_url:
            details = await fetch_version_details(
                http,
                theirs.url,
                theirs.token,
                version=OCPI_VERSION,
                allow_insecure=LOCAL_EMSP,
                correlation_id=correlation_id,
            )
    except (PeerUnusable, VersionUnsupported, NotConnected) as error:
        store.put(cpo.party, previous)
        raise RegistrationFailed(f"{cpo.party}: {error}") from error
    connection = _connection(token_b, theirs, details)
    store.put(cpo.party, connection)
    return await publish(http, cpo, connection)


def invite(store: ConnectionStore, cpo: SimCpo) -> str:
    """A token A for the eMSP (flow S: it registers with us): it opens our versions, details and
    credentials until the eMSP's POST, which replaces it."""
    token_a = secrets.token_urlsafe(32)
    store.put(cpo.party, EmspConnection(token_b=token_a, versions_url=""))
    return token_a


async def accept_registration(
    http: httpx.AsyncClient, store: ConnectionStore, cpo: SimCpo, own_versions_url: str, theirs: Credentials
) -> Credentials:
    """The eMSP's credentials POST with our token A: read its versions and details with the token it sent
    (ours to call it with), keep them, and answer with a new token for it; token A stops working."""
    correlation_id = str(uuid.uuid4())
    try:
        details = await fetch_version_details(
            http,
            theirs.url,
            theirs.token,
            version=OCPI_VERSION,
            allow_insecure=LOCAL_EMSP,
            correlation_id=correlation_id,
        )
    except (PeerUnusable, VersionUnsupported) as error:
        raise RegistrationFailed(f"{cpo.party}: {error}") from error
    token_b = secrets.token_urlsafe(32)
    store.put(cpo.party, _connection(token_b, theirs, details))
    return _our_credentials(cpo, token_b, own_versions_url)


async def update(
    http: httpx.AsyncClient, store: ConnectionStore, cpo: SimCpo, own_versions_url: str, versions_url: str | None
) -> None:
    """PUT our credentials (a new token B, our versions URL) with token C, after reading the eMSP's details
    again at ``versions_url`` (where it lives now; by default where it lived); keep its new token C."""
    current = store.registered(cpo.party)
    assert current.token_c is not None
    correlation_id = str(uuid.uuid4())
    versions_url = versions_url or current.versions_url
    try:
        details = await fetch_version_details(
            http,
            versions_url,
            current.token_c,
            version=OCPI_VERSION,
            allow_insecure=LOCAL_EMSP,
            correlation_id=correlation_id,
        )
        token_b = secrets.token_urlsafe(32)
        # Both B work until the answer: the eMSP reads our versions with the new one while it answers.
        store.put(cpo.party, current.model_copy(update={"token_b": token_b, "replaced_token_b": current.token_b}))
        theirs = await put_credentials(
            http,
            endpoint_url(details.endpoints, "credentials"),
            current.token_c,
            _our_credentials(cpo, token_b, own_versions_url),
            correlation_id=correlation_id,
        )
    except (PeerUnusable, VersionUnsupported, NotConnected) as error:
        store.put(cpo.party, current)
        raise RegistrationFailed(f"{cpo.party}: {error}") from error
    store.put(cpo.party, _connection(token_b, theirs, details))


async def publish(http: httpx.AsyncClient, cpo: SimCpo, connection: EmspConnection) -> Published:
    """PUT every tariff, then every location (their connectors name the tariffs) to the eMSP."""
    correlation_id = str(uuid.uuid4())
    tariffs, locations = cpo.tariffs(), ocpi_locations(cpo)
    try:
        for module, objects in (("tariffs", tariffs), ("locations", locations)):
            base = connection.receiver(module)
            for found in objects:
                url = f"{base}/{cpo.country_code}/{cpo.party_id}/{found['id']}"
                await _put(http, url, found, routed_headers(cpo, connection, correlation_id))
    except NotConnected as error:
        raise RegistrationFailed(f"{cpo.party}: {error}") from error
    return Published(tariffs=len(tariffs), locations=len(locations))


async def _put(http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
    """PUT it; a technical failure (network, 5xx, 408, 429, OCPI 3xxx: "please retry") is tried again a
    few times, with a doubling pause, as a CPO does."""
    problem = ""
    for attempt in range(PUBLISH_ATTEMPTS):
        if attempt:
            await asyncio.sleep(FIRST_PAUSE_S * 2 ** (attempt - 1))
        try:
            reply = await http.put(url, json=body, headers=headers)
            status = reply.json().get("status_code")
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            problem = type(error).__name__
            continue
        problem = f"HTTP {reply.status_code}, OCPI {status}: {reply.text[:300]}"
        if reply.status_code in (200, 201) and status == 1000:
            return
        if (
            reply.status_code < 500
            and reply.status_code not in (408, 429)
            and not (isinstance(status, int) and status >= 3000)
        ):
            break
    raise RegistrationFailed(f"PUT {url}: {problem}")
