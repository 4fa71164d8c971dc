"""OCPI pagination both ways over real HTTP: a Sender's list served page by page (``api/ocpi_pagination.py``)
by a small app on a loopback port, and pulled whole by ``adapters/ocpi_pages.py``, which follows its next
links, asks again after a 503 and refuses a page that is not an OCPI success."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response

from adapters.cpo import CpoEndpoint
from adapters.ocpi_pages import OcpiPullFailed, PullRetries, pulled_objects
from api.ocpi_pagination import MAX_LIMIT, Page, PageQuery, serve_page
from cli.processes import free_port
from messages.ocpi import format_ocpi_datetime
from tests.e2e.conftest import serve

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIRST = datetime(2026, 1, 1, tzinfo=UTC)
UPDATED = [FIRST + timedelta(minutes=n) for n in range(250)]  # tariff T{n:03}'s last_updated
OURS = ("CH", "NWC")
QUICK = PullRetries(attempts=3, first_pause_s=0.01)
CLIENT_TIMEOUT_S = 0.5
SLOW = 0  # a fault answering after the client gave up


@dataclass
class Sender:
    """A CPO's Tariffs Sender; ``faults`` answers the next requests of a given offset with a status, or
    with nothing before our client's timeout (``SLOW``)."""

    url: str
    faults: dict[str, list[int]] = field(default_factory=dict)
    received: list[httpx.Headers] = field(default_factory=list)
    broken_page: bytes | None = None  # served instead of the page at offset 100

    def endpoint(self) -> CpoEndpoint:
        return CpoEndpoint("cpo-de-stn", "DE", "STN", f"{self.url}/commands/", "token-b")

    async def pull(self, **window: datetime) -> list[Any]:
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S) as http:
            return [
                found async for found in pulled_objects(http, self.endpoint(), self.url, OURS, **window, retries=QUICK)
            ]


def tariffs_app(sender: Sender, public_base_url: str) -> FastAPI:
    app = FastAPI()

    async def load(query: PageQuery) -> Page:
        matching = [
            n
            for n, last_updated in enumerate(UPDATED)
            if (query.date_from is None or last_updated >= query.date_from)
            and (query.date_to is None or last_updated < query.date_to)
        ]
        page = matching[query.offset : query.offset + query.limit]
        as_json = [{"id": f"T{n:03}", "price": 0.25, "last_updated": format_ocpi_datetime(UPDATED[n])} for n in page]
        return Page(as_json, len(matching))

    @app.get("/tariffs")
    async def tariffs(request: Request) -> Response:
        sender.received.append(httpx.Headers(request.headers.raw))
        offset = request.query_params.get("offset", "0")
        if sender.faults.get(offset):
            fault = sender.faults[offset].pop(0)
            if fault != SLOW:
                return Response(status_code=fault)
            await asyncio.sleep(CLIENT_TIMEOUT_S * 2)
        if offset == "100" and sender.broken_page is not None:
            return Response(sender.broken_page, media_type="application/json")
        return await serve_page(request, public_base_url, load)

    return app


@pytest_asyncio.fixture(loop_scope="session")
async def sender() -> AsyncIterator[Sender]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    running = Sender(f"{base}/tariffs")
    server, task = await serve(tariffs_app(running, base), port)
    yield running
    server.should_exit = True
    await task


async def test_a_page_is_capped_to_our_limit_and_links_to_the_next_keeping_the_filters(sender: Sender) -> None:
    since = format_ocpi_datetime(FIRST + timedelta(minutes=20))
    async with httpx.AsyncClient() as http:
        first = await http.get(sender.url, params={"limit": "2000", "date_from": since, "other": "kept"})
        assert first.json()["status_code"] == 1000
        assert [t["id"] for t in first.json()["data"]] == [f"T{n:03}" for n in range(20, 120)]
        assert (first.headers["X-Limit"], first.headers["X-Total-Count"]) == (str(MAX_LIMIT), "230")
        following = httpx.URL(first.links["next"]["url"])
        assert following.copy_with(query=None) == httpx.URL(sender.url)
        assert dict(following.params) == {"date_from": since, "other": "kept", "offset": "100", "limit": "100"}
        last = await http.get(following.copy_merge_params({"offset": "200"}))
        assert len(last.json()["data"]) == 30
        assert "Link" not in last.headers
        past_the_end = await http.get(sender.url, params={"offset": "999"})
        assert (past_the_end.json()["status_code"], past_the_end.json()["data"]) == (1000, [])
        assert past_the_end.headers["X-Total-Count"] == "250"
        assert "Link" not in past_the_end.headers


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"offset": "9" * 5000},
        {"date_from": "yesterday"},
        {"date_from": "2026-02-01T00:00:00Z", "date_to": "2026-01-01T00:00:00Z"},
    ],
)
async def test_a_query_we_cannot_read_is_refused_2001_naming_the_parameter(
    sender: Sender, query: dict[str, str]
) -> None:
    async with httpx.AsyncClient() as http:
        reply = await http.get(sender.url, params=query)
    assert (reply.status_code, reply.json()["status_code"]) == (200, 2001)
    assert reply.json()["status_message"].split(":")[0] in query


async def test_an_offset_arriving_with_its_plus_as_a_space_is_read_as_sent(sender: Sender) -> None:
    async with httpx.AsyncClient() as http:
        reply = await http.get(f"{sender.url}?date_from=2026-01-01T01:00:00+01:00&limit=1")
    assert reply.json()["data"][0]["id"] == "T000"


async def test_the_whole_list_is_pulled_following_the_links_to_the_end(sender: Sender) -> None:
    sender.received.clear()
    pulled = await sender.pull()
    assert [t["id"] for t in pulled] == [f"T{n:03}" for n in range(250)]
    assert len(sender.received) == 3
    assert str(pulled[0]["price"]) == "0.25"  # a Decimal: prices are never floats
    first = sender.received[0]
    assert first["Authorization"] == "Token dG9rZW4tYg=="
    assert (first["OCPI-from-party-id"], first["OCPI-to-party-id"]) == ("NWC", "STN")
    assert len({headers["X-Request-ID"] for headers in sender.received}) == 3
    assert len({headers["X-Correlation-ID"] for headers in sender.received}) == 1


async def test_a_window_pulls_from_inclusive_to_exclusive(sender: Sender) -> None:
    window = {"date_from": FIRST + timedelta(minutes=10), "date_to": FIRST + timedelta(minutes=130)}
    assert [t["id"] for t in await sender.pull(**window)] == [f"T{n:03}" for n in range(10, 130)]


async def test_a_page_that_failed_on_the_way_is_asked_again(sender: Sender) -> None:
    sender.received.clear()
    sender.faults["100"] = [503, SLOW]
    assert len(await sender.pull()) == 250
    assert len(sender.received) == 5


async def test_a_page_that_keeps_failing_ends_the_pull_with_nothing_returned(sender: Sender) -> None:
    sender.faults["100"] = [503] * QUICK.attempts
    with pytest.raises(OcpiPullFailed, match="HTTP 503, 3 attempts"):
        await sender.pull()


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (b"<html>proxy error</html>", "not JSON"),
        (b'{"items": []}', "not an OCPI envelope"),
        (b'{"status_code": 2001, "status_message": "bad", "timestamp": "2026-01-01T00:00:00Z"}', "OCPI 2001 bad"),
        (b'{"data": {"id": "T1"}, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}', "not a list"),
    ],
)
async def test_a_page_that_is_not_an_ocpi_list_ends_the_pull(sender: Sender, page: bytes, problem: str) -> None:
    pulled: list[Any] = []

    async def collect() -> None:
        async with httpx.AsyncClient() as http:
            async for found in pulled_objects(http, sender.endpoint(), sender.url, OURS, retries=QUICK):
                pulled.append(found)

    sender.broken_page = page
    try:
        with pytest.raises(OcpiPullFailed, match=problem):
            await collect()
    finally:
        sender.broken_page = None
    assert pulled == []  # the first page was read, yet nothing of it reached the caller
