"""Calling a peer's OCPI configuration modules: its versions and version details, and its credentials
endpoint when we register with it. Configuration modules take no routing headers; every request carries
our transport headers (``adapters/cpo.py`` ``ocpi_request_headers``). Tokens never reach an error
message.

Every URL of a peer is checked before we call it or store it (``check_peer_url``): https, on a host that
is not and does not resolve to a loopback, private, link-local, multicast, reserved or unspecified
address, so a registration cannot make us call into our own network (SSRF). ``allow_insecure`` (the dev
stack, the tests) lets loopback through, over http too; http elsewhere and private networks never."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any, TypeVar
from urllib.parse import urlsplit

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


class PeerUrlRefused(PeerUnusable):
    """A URL of the peer we will not call: the message names it and why."""


IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def check_peer_url(url: str, *, allow_insecure: bool) -> None:
    """Refuse (``PeerUrlRefused``) a URL that is not https, or whose host is, or resolves to, an address
    that is not public. The name is resolved off the event loop (``loop.getaddrinfo``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise PeerUrlRefused(f"{url}: not a URL ({error})") from error
    if parts.scheme != "https" and not (allow_insecure and parts.scheme == "http"):
        raise PeerUrlRefused(f"{url}: not https")
    host = parts.hostname
    if not host:
        raise PeerUrlRefused(f"{url}: no host")
    try:
        addresses: list[IpAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolved(url, host, port or (443 if parts.scheme == "https" else 80))
    for address in addresses:
        problem = _not_public(address, allow_loopback=allow_insecure)
        if problem is not None:
            shown = "" if str(address) == host else f" (resolves to {address})"
            raise PeerUrlRefused(f"{url}: {host}{shown} is a {problem} address")
    if parts.scheme == "http" and not all(_unmapped(address).is_loopback for address in addresses):
        raise PeerUrlRefused(f"{url}: not https (http only on loopback, for the local stack)")


async def _resolved(url: str, host: str, port: int) -> list[IpAddress]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise PeerUrlRefused(f"{url}: {host} does not resolve") from error
    # The scope of an IPv6 link-local address (fe80::1%eth0) is not part of the address.
    return [ipaddress.ip_address(str(sockaddr[0]).partition("%")[0]) for *_, sockaddr in found]


def _unmapped(address: IpAddress) -> IpAddress:
    """An IPv4 address written as IPv6 (``::ffff:127.0.0.1``) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _not_public(address: IpAddress, *, allow_loopback: bool) -> str | None:
    """What kind of non-public address this is, or None for a public one."""
    address = _unmapped(address)
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    kinds = (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    )
    return next((kind for kind, applies in kinds if applies), None)


async def fetch_version_details(
    http: httpx.AsyncClient,
    versions_url: str,
    token: str,
    *,
    version: str,
    allow_insecure: bool,
    correlation_id: str | None = None,
) -> VersionDetails:
    """The peer's details of ``version``, read from its versions list with ``token``; every URL in them
    passes ``check_peer_url``."""
    await check_peer_url(versions_url, allow_insecure=allow_insecure)
    listed = _parsed(VERSIONS, await _call(http, "GET", versions_url, token, correlation_id), versions_url)
    chosen = next((v for v in listed if v.version == version), None)
    if chosen is None:
        offered = ", ".join(v.version for v in listed) or "none"
        raise VersionUnsupported(f"{versions_url} lists no OCPI {version} (it offers {offered})")
    await check_peer_url(chosen.url, allow_insecure=allow_insecure)
    details = _parsed(
        TypeAdapter(VersionDetails), await _call(http, "GET", chosen.url, token, correlation_id), chosen.url
    )
    if details.version != version:
        raise PeerUnusable(f"{chosen.url} describes version {details.version}, not {version}")
    for endpoint in details.endpoints:
        await check_peer_url(endpoint.url, allow_insecure=allow_insecure)
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
