"""Pulling an OCPI 2.2.1 list from a CPO's Sender interface (Locations, Tariffs, Sessions, CDRs): GET the
list URL, then every ``Link: <url>; rel="next"`` until a page has none (never our own offset arithmetic:
the server decides its pages). A page that fails on the way (network, timeout, 5xx, 408, 429) is asked
again a few times with a growing pause; one that is not an OCPI envelope holding a list, or whose status
is not a success, ends the pull with ``OcpiPullFailed``. The caller gets every object or that error,
never part of a list."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from adapters.cpo import CpoEndpoint, routed_request_headers
from messages.ocpi import format_ocpi_datetime


class OcpiPullFailed(Exception):
    """The list could not be pulled whole: why, and at which page."""


@dataclass(frozen=True, slots=True)
class PullRetries:
    """How often a page that failed on the way is asked again, and how long to wait before each time
    (doubling from ``first_pause_s`` up to ``longest_pause_s``)."""

    attempts: int = 4
    first_pause_s: float = 0.5
    longest_pause_s: float = 8.0

    def pause_s(self, retry: int) -> float:
        return min(self.first_pause_s * 2.0**retry, self.longest_pause_s)


async def pulled_objects(
    http: httpx.AsyncClient,
    cpo: CpoEndpoint,
    list_url: str,
    our_party: tuple[str, str],
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    retries: PullRetries = PullRetries(),
) -> AsyncIterator[Any]:
    """Every object of the CPO's list at ``list_url`` (within ``date_from``..``date_to`` on
    ``last_updated``), yielded only once the last page is in: an error comes before any object."""
    filters = {"date_from": date_from, "date_to": date_to}
    params = {name: format_ocpi_datetime(moment) for name, moment in filters.items() if moment is not None}
    correlation_id = str(uuid.uuid4())  # one exchange: every page of the pull
    objects: list[Any] = []
    seen: set[str] = set()
    url: str | None = str(httpx.URL(list_url, params=params))
    while url is not None:
        if url in seen:
            raise OcpiPullFailed(f"{cpo.cpo_id}: the next link {url} was followed already")
        seen.add(url)
        reply = await _page(http, url, lambda: routed_request_headers(cpo, our_party, correlation_id), retries)
        objects.extend(_objects(reply, f"{cpo.cpo_id}: page {url}"))
        following = reply.links.get("next", {}).get("url")
        url = None if following is None else str(reply.url.join(following))
    for found in objects:
        yield found


async def _page(
    http: httpx.AsyncClient, url: str, headers: Callable[[], dict[str, str]], retries: PullRetries
) -> httpx.Response:
    """The page's answer, asked again while it fails on the way; each request has its own request id."""
    problem = "never asked"
    for retry in range(retries.attempts):
        if retry:
            await asyncio.sleep(retries.pause_s(retry - 1))
        try:
            reply = await http.get(url, headers=headers())
        except httpx.TransportError as error:  # connect, read and pool timeouts included
            problem = repr(error)
            continue
        if reply.status_code < 500 and reply.status_code not in (408, 429):
            return reply
        problem = f"HTTP {reply.status_code}"
    raise OcpiPullFailed(f"page {url}: {problem}, {retries.attempts} attempts")


def _objects(reply: httpx.Response, where: str) -> list[Any]:
    try:
        body = json.loads(reply.content, parse_float=Decimal)  # prices and energy: never floats
    except ValueError as error:
        raise OcpiPullFailed(f"{where}: HTTP {reply.status_code}, not JSON") from error
    status_code = body.get("status_code") if isinstance(body, dict) else None
    if not isinstance(status_code, int):
        raise OcpiPullFailed(f"{where}: HTTP {reply.status_code}, not an OCPI envelope")
    # A success is HTTP 2xx and an OCPI 1xxx status (status_codes: 19xx are successes too).
    if not (reply.is_success and 1000 <= status_code < 2000):
        raise OcpiPullFailed(f"{where}: HTTP {reply.status_code}, OCPI {status_code} {body.get('status_message')}")
    objects = body.get("data")
    if not isinstance(objects, list):
        raise OcpiPullFailed(f"{where}: its data is not a list")
    return objects
