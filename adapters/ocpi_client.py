"""Calling a peer's OCPI configuration modules: its versions and version details, and its credentials
endpoint when we register with it. Configuration modules take no routing headers; every request carries
our transport headers (``adapters/cpo.py`` ``ocpi_request_headers``). Tokens never reach an error
message."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from adapters.cpo import ocpi_request_headers
from messages.ocpi_credentials import Credentials, Version, VersionDetails

VERSIONS = TypeAdapter(list[Version])
Parsed = TypeVar("Parsed")


class PeerUnusable(Exception):
    """The peer's API could not be used: unreachable, an HTTP error, no OCPI success, a garbled answer."""


class VersionUnsupported(Exception):
    """The peer does not list the version we speak."""


async def fetch_version_details(
    http: httpx.AsyncClient, versions_url: str, token: str, *, version: str, correlation_id: str | None = None
) -> VersionDetails:
    """The peer's details of ``version``, read from its versions list with ``token``."""
    listed = _parsed(VERSIONS, await _call(http, "GET", versions_url, token, correlation_id), versions_url)
    chosen = next((v for v in listed if v.version == version), None)
    if chosen is None:
        offered = ", ".join(v.version for v in listed) or "none"
        raise VersionUnsupported(f"{versions_url} lists no OCPI {version} (it offers {offered})")
    details = _parsed(
        TypeAdapter(VersionDetails), await _call(http, "GET", chosen.url, token, correlation_id), chosen.url
    )
    if details.version != version:
        raise PeerUnusable(f"{chosen.url} describes version {details.version}, not {version}")
    return details


async def post_credentials(
    http: httpx.AsyncClient, credentials_url: str, token: str, ours: Credentials, *, correlation_id: str
) -> Credentials:
    """Register with the peer: POST our credentials with its token A; its answer is its credentials."""
    body = ours.model_dump_json(exclude_none=True)
    data = await _call(http, "POST", credentials_url, token, correlation_id, body)
    return _parsed(TypeAdapter(Credentials), data, credentials_url)


async def put_credentials(
    http: httpx.AsyncClient, credentials_url: str, token: str, ours: Credentials, *, correlation_id: str
) -> Credentials:
    """Update our registration with the peer (a new token for it, maybe a new versions URL): PUT our
    credentials with the token it gave us; its answer is its credentials, with our new token."""
    body = ours.model_dump_json(exclude_none=True)
    data = await _call(http, "PUT", credentials_url, token, correlation_id, body)
    return _parsed(TypeAdapter(Credentials), data, credentials_url)


async def _call(
    http: httpx.AsyncClient, method: str, url: str, token: str, correlation_id: str | None, body: str | None = None
) -> Any:
    """The ``data`` of the peer's OCPI answer, which must be a success (1xxx) on HTTP 200."""
    headers = ocpi_request_headers(token, correlation_id)
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        reply = await http.request(method, url, content=body, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise PeerUnusable(f"{method} {url}: {type(error).__name__}") from error
    try:
        envelope = reply.json()
        status_code = int(envelope["status_code"])
    except (ValueError, KeyError, TypeError) as error:
        raise PeerUnusable(f"{method} {url}: HTTP {reply.status_code}, no OCPI envelope") from error
    if reply.status_code != 200 or not 1000 <= status_code < 2000:
        raise PeerUnusable(f"{method} {url}: HTTP {reply.status_code}, OCPI {status_code}")
    return envelope.get("data")


def _parsed(adapter: TypeAdapter[Parsed], data: Any, url: str) -> Parsed:
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'data'}: {e['msg']}" for e in error.errors())
        raise PeerUnusable(f"{url}: {problems[:500]}") from error
