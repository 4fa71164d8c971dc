"""OCPI 2.2.1 transport on every route we serve and every request we send: request and correlation ids,
routing headers, trailing slashes, the envelope on every answer, DateTime as OCPI types it, ids compared
ignoring case, and the Versions module."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from sqlalchemy import select

from adapters.cpo import CpoEndpoint, OcpiCpoAdapter
from api.routes.ocpi import CDR_BODY_LIMIT
from cli.processes import free_port
from domain.sessions.lifecycle import SessionStage
from messages.ocpi import CommandResponseType, StartSession, Token, TokenType, WhitelistType
from persistence.tables import CdrRow, OcpiSessionRow
from tests.e2e.conftest import Stack, serve
from tests.e2e.test_ocpi_intake import OCPI, cdr_for, cpo_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

OCPI_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
IDS = {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}


def assert_ocpi_datetime(value: str) -> None:
    assert OCPI_DATETIME.match(value), value
    assert len(value) <= 25, value


async def test_ids_are_echoed_on_every_answer_and_refusal(stack: Stack) -> None:
    answers = {
        "versions": await stack.http.get("/ocpi/versions", headers={**cpo_headers(stack), **IDS}),
        "no token": await stack.http.post(f"{OCPI}/cdrs", content="{}", headers=IDS),
        "not json": await stack.http.post(f"{OCPI}/cdrs", content="{oops", headers={**cpo_headers(stack), **IDS}),
        "refused": await stack.http.post(f"{OCPI}/cdrs", content="{}", headers={**cpo_headers(stack), **IDS}),
        "too large": await stack.http.post(
            f"{OCPI}/cdrs", content=b" " * (CDR_BODY_LIMIT + 1), headers={**cpo_headers(stack), **IDS}
        ),
        "no route": await stack.http.get("/ocpi/emsp/2.2.1/locations", headers={**cpo_headers(stack), **IDS}),
        "no method": await stack.http.delete(f"{OCPI}/sessions/DE/STN/x", headers={**cpo_headers(stack), **IDS}),
    }
    statuses = {name: (reply.status_code, reply.json()["status_code"]) for name, reply in answers.items()}
    assert statuses == {
        "versions": (200, 1000),
        "no token": (401, 2000),
        "not json": (400, 2000),
        "refused": (200, 2001),
        "too large": (413, 2000),
        "no route": (404, 2000),
        "no method": (405, 2000),
    }
    for name, reply in answers.items():
        assert (reply.headers["X-Request-ID"], reply.headers["X-Correlation-ID"]) == ("req-1", "corr-1"), name
        assert_ocpi_datetime(reply.json()["timestamp"])


async def test_ids_are_minted_when_the_request_has_none(stack: Stack) -> None:
    first = await stack.http.post(f"{OCPI}/cdrs", content="{}")
    second = await stack.http.post(f"{OCPI}/cdrs", content="{}", headers={"X-Correlation-ID": "corr-2"})
    assert first.status_code == second.status_code == 401
    assert first.headers["X-Request-ID"]
    assert first.headers["X-Correlation-ID"] == first.headers["X-Request-ID"]
    assert second.headers["X-Request-ID"] not in ("", first.headers["X-Request-ID"])
    assert second.headers["X-Correlation-ID"] == "corr-2"


async def test_a_trailing_slash_gets_the_same_answer_never_a_redirect(stack: Stack) -> None:
    for path in ("/ocpi/versions", OCPI):
        plain = await stack.http.get(path, headers=cpo_headers(stack))
        slashed = await stack.http.get(path + "/", headers=cpo_headers(stack))
        assert (slashed.status_code, slashed.json()["data"]) == (plain.status_code, plain.json()["data"])
    posted = await stack.http.post(f"{OCPI}/cdrs/", content="{}", headers=cpo_headers(stack))
    assert (posted.status_code, posted.json()["status_code"]) == (200, 2001)


async def test_routing_headers_are_accepted_and_another_sender_refused(stack: Stack) -> None:
    def routed(country_code: str, party_id: str) -> dict[str, str]:
        return {
            **cpo_headers(stack),
            "OCPI-from-country-code": country_code,
            "OCPI-from-party-id": party_id,
            "OCPI-to-country-code": "CH",
            "OCPI-to-party-id": "NWC",
        }

    for own in (routed("DE", "STN"), routed("de", "stn")):
        reply = await stack.http.post(f"{OCPI}/cdrs", content="{}", headers=own)
        assert (reply.status_code, reply.json()["status_code"]) == (200, 2001)  # reached the CDR intake
    foreign = await stack.http.post(f"{OCPI}/cdrs", content="{}", headers={**routed("FR", "BRN"), **IDS})
    assert (foreign.status_code, foreign.json()["status_code"]) == (404, 2000)
    assert "not FR*BRN" in foreign.json()["status_message"]
    assert foreign.headers["X-Request-ID"] == "req-1"


async def test_versions_and_version_details_list_what_we_serve(stack: Stack) -> None:
    versions = await stack.http.get("/ocpi/versions", headers=cpo_headers(stack))
    assert versions.json()["data"] == [{"version": "2.2.1", "url": f"{stack.api_url}{OCPI}"}]
    details = await stack.http.get(OCPI, headers=cpo_headers(stack))
    assert details.json()["status_code"] == 1000
    assert details.json()["data"] == {
        "version": "2.2.1",
        "endpoints": [
            {"identifier": "cdrs", "role": "RECEIVER", "url": f"{stack.api_url}{OCPI}/cdrs"},
            {"identifier": "commands", "role": "SENDER", "url": f"{stack.api_url}{OCPI}/commands"},
            {"identifier": "credentials", "role": "SENDER", "url": f"{stack.api_url}{OCPI}/credentials"},
            {"identifier": "locations", "role": "RECEIVER", "url": f"{stack.api_url}{OCPI}/locations"},
            {"identifier": "sessions", "role": "RECEIVER", "url": f"{stack.api_url}{OCPI}/sessions"},
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{stack.api_url}{OCPI}/tariffs"},
            {"identifier": "tokens", "role": "SENDER", "url": f"{stack.api_url}{OCPI}/tokens"},
        ],
    }
    unauthenticated = await stack.http.get(OCPI)
    assert (unauthenticated.status_code, unauthenticated.json()["status_code"]) == (401, 2000)


async def test_ids_are_compared_ignoring_case_and_stored_as_received(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-ci")
    session = await stack.wait_for(session_id, SessionStage.AWAITING_CDR)
    cpo_session_id = session["cpo_session_id"]
    with stack.writes() as db:
        held = db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.our_session_id == session_id)).one().body
    # The simulator's own Session, as we serve it back to ourselves: our DateTimes, OCPI's format.
    for field in ("start_date_time", "last_updated"):
        assert_ocpi_datetime(held[field])
    url = f"{OCPI}/sessions/de/stn/{cpo_session_id.swapcase()}"
    resent = {
        **held,
        "country_code": "de",
        "party_id": "stn",
        "id": cpo_session_id.swapcase(),
        "authorization_reference": session_id.upper(),
    }
    put = await stack.http.put(url, content=json.dumps(resent), headers=cpo_headers(stack))
    assert (put.status_code, put.json()["status_code"]) == (200, 1000), put.text  # the one we hold, replaced
    patch = await stack.http.patch(
        url, content=json.dumps({"last_updated": held["last_updated"]}), headers=cpo_headers(stack)
    )
    assert patch.json()["status_code"] == 1000, patch.text
    with stack.writes() as db:
        assert len(db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.our_session_id == session_id)).all()) == 1

    cdr = cdr_for(session)
    cdr.update(country_code="de", party_id="stn", session_id=cpo_session_id.lower(), id=cdr["id"].upper())
    cdr.update(authorization_reference=session_id.upper())
    cdr["cdr_location"]["evse_uid"] = "ber-alex-1"
    posted = await stack.http.post(f"{OCPI}/cdrs", content=json.dumps(cdr), headers=cpo_headers(stack))
    assert (posted.status_code, posted.json()["status_code"]) == (201, 1000), posted.text
    location = posted.headers["Location"].removeprefix(stack.api_url)
    read_back = await stack.http.get(location, headers=cpo_headers(stack))
    assert (read_back.status_code, read_back.json()["data"]) == (200, cdr)
    await stack.wait_for(session_id, SessionStage.SETTLED)
    with stack.writes() as db:
        stored = db.scalars(select(CdrRow).where(CdrRow.our_session_id == session_id)).one()
        assert (stored.country_code, stored.party_id, stored.cdr_id) == ("de", "stn", cdr["id"])


async def test_a_tariff_is_found_under_any_spelling_of_its_ids(stack: Stack) -> None:
    tariff = {
        "country_code": "de",
        "party_id": "stn",
        "id": "stn-ci-tariff",
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.4, "vat": 19.0, "step_size": 1}]}],
        "last_updated": "2026-01-01T00:00:00Z",
    }
    created = await stack.http.put(
        f"{OCPI}/tariffs/DE/STN/STN-CI-TARIFF", content=json.dumps(tariff), headers=cpo_headers(stack)
    )
    assert (created.status_code, created.json()["status_code"]) == (201, 1000), created.text
    same = await stack.http.put(
        f"{OCPI}/tariffs/de/stn/Stn-Ci-Tariff", content=json.dumps(tariff), headers=cpo_headers(stack)
    )
    assert (same.status_code, same.json()["status_message"]) == (200, "Success (already held)")
    deleted = await stack.http.delete(f"{OCPI}/tariffs/de/stn/stn-ci-tariff", headers=cpo_headers(stack))
    assert deleted.json()["status_code"] == 1000, deleted.text


@pytest_asyncio.fixture(loop_scope="session")
async def cpo_commands() -> AsyncIterator[tuple[str, list[httpx.Headers]]]:
    """A CPO's Commands receiver that records the headers of what it receives."""
    received: list[httpx.Headers] = []
    app = FastAPI()

    @app.post("/commands/{command}")
    async def command(request: Request) -> dict[str, Any]:
        received.append(httpx.Headers(request.headers.raw))
        return {"data": {"result": "ACCEPTED", "timeout": 30}, "status_code": 1000, "timestamp": "2026-12-03T09:15:00Z"}

    port = free_port()
    server, task = await serve(app, port)
    yield f"http://127.0.0.1:{port}/commands/", received
    server.should_exit = True
    await task


async def test_our_requests_carry_fresh_ids_and_routing_headers(cpo_commands: tuple[str, list[httpx.Headers]]) -> None:
    url, received = cpo_commands
    endpoint = CpoEndpoint("cpo-de-stn", "DE", "STN", url, "token-b")
    token = Token(
        country_code="CH",
        party_id="NWC",
        uid="driver-1",
        type=TokenType.APP_USER,
        contract_id="c",
        issuer="NetworkCore",
        valid=True,
        whitelist=WhitelistType.NEVER,
        last_updated="2026-12-03T09:15:00.123456+01:00",  # parsed as a peer may send it
    )
    command = StartSession(response_url="http://127.0.0.1/cb", token=token, location_id="BER-ALEX")
    async with httpx.AsyncClient() as http:
        adapter = OcpiCpoAdapter(http, from_country_code="CH", from_party_id="NWC")
        for _ in range(2):
            assert (await adapter.start_session(endpoint, command)).result == CommandResponseType.ACCEPTED
    first, second = received
    assert first["X-Request-ID"]
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert first["X-Correlation-ID"]
    routing = {name: first[name] for name in ("OCPI-from-country-code", "OCPI-from-party-id")}
    routing |= {name: first[name] for name in ("OCPI-to-country-code", "OCPI-to-party-id")}
    assert routing == {
        "OCPI-from-country-code": "CH",
        "OCPI-from-party-id": "NWC",
        "OCPI-to-country-code": "DE",
        "OCPI-to-party-id": "STN",
    }
    assert json.loads(command.model_dump_json())["token"]["last_updated"] == "2026-12-03T08:15:00.123Z"
