"""The CPO simulator on its own: the OCPI messages it sends, its failure modes, its in-process adapter
and its HTTP front (a CPO platform per simulated CPO), against a recording eMSP built on
httpx.MockTransport. Its registration with the real eMSP is tests/e2e/test_ocpi_demo_cpos.py."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters.cpo import CpoEndpoint, ocpi_token_header
from messages.ocpi import Cdr, CommandResponseType, StartSession, StopSession, Token, TokenType, WhitelistType
from messages.ocpi_credentials import Endpoint
from simulator.adapter import SimulatorCpoAdapter
from simulator.app import create_app
from simulator.catalogue import simulator_config
from simulator.config import SimulatorConfig
from simulator.connections import ConnectionStore, EmspConnection
from simulator.engine import CpoSimulator
from simulator.transport_check import transport_problems

pytestmark = pytest.mark.asyncio(loop_scope="session")
SIM = "http://sim"
EMSP = "http://emsp/ocpi/emsp/2.2.1"
TOKEN_B, TOKEN_C = "token-b-of-stn", "token-c-of-stn"  # the eMSP calls STN with B, STN calls it with C
STN = f"{SIM}/cpo/de-stn/ocpi/2.2.1"
ENDPOINT = CpoEndpoint("cpo-de-stn", "DE", "STN", f"{STN}/commands/", TOKEN_B)


def registered() -> ConnectionStore:
    """STN as its registration with the eMSP leaves it."""
    store = ConnectionStore()
    endpoints = [Endpoint(identifier=m, role="RECEIVER", url=f"{EMSP}/{m}") for m in ("sessions", "cdrs")]
    connection = EmspConnection(
        token_b=TOKEN_B,
        token_c=TOKEN_C,
        versions_url="http://emsp/ocpi/versions",
        emsp_country_code="CH",
        emsp_party_id="NWC",
        endpoints=endpoints,
    )
    store.put("de-stn", connection)
    return store


class Emsp:
    """Records what the CPO sends and answers like a healthy eMSP (or fails the first ``failures``)."""

    def __init__(self, failures: int = 0, failure: httpx.Response | None = None) -> None:
        self.requests: list[tuple[str, str, dict[str, object]]] = []
        self.received_at: list[datetime] = []
        self.failures = failures
        self.failure = failure or httpx.Response(503)
        self.failed_at: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            self.failed_at.append(time.monotonic())
            return self.failure
        self.requests.append((request.method, request.url.path, json.loads(request.content)))
        self.received_at.append(datetime.now(UTC))
        assert request.headers["Authorization"] == ocpi_token_header(TOKEN_C)
        routing = [
            request.headers[f"OCPI-{side}-{part}"] for side in ("from", "to") for part in ("country-code", "party-id")
        ]
        assert routing == ["DE", "STN", "CH", "NWC"]
        return httpx.Response(200, json={"data": None, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"})

    def kinds(self) -> list[str]:
        out = []
        for method, path, body in self.requests:
            if "/commands/" in path:
                out.append(f"RESULT {body['result']}")
            elif path.endswith("/cdrs"):
                out.append("CDR")
            else:
                out.append(f"{method} {body.get('status', '')}".strip())
        return out


def start_command(driver: str) -> StartSession:
    return StartSession(
        response_url="http://emsp/ocpi/emsp/2.2.1/commands/START_SESSION/s-1",
        token=Token(
            country_code="CH",
            party_id="NWC",
            uid=driver,
            type=TokenType.APP_USER,
            contract_id="c",
            issuer="dp",
            valid=True,
            whitelist=WhitelistType.NEVER,
            last_updated=datetime.now(UTC),
        ),
        location_id="BER-ALEX",
        evse_uid="BER-ALEX-1",
        connector_id="1",
        authorization_reference=f"ref-{driver}",
    )


def simulator(emsp: Emsp, charge_s: float = 0.3, **overrides: float) -> tuple[CpoSimulator, httpx.AsyncClient]:
    config = SimulatorConfig.model_validate(
        simulator_config(SIM, charge_duration_s=charge_s, patch_interval_s=0.1) | overrides
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(emsp))
    return CpoSimulator(config, http, registered()), http


async def test_a_session_reports_like_a_cpo_and_ends_with_a_priced_cdr() -> None:
    emsp = Emsp()
    sim, http = simulator(emsp)
    response = await SimulatorCpoAdapter(sim).start_session(ENDPOINT, start_command("driver-1"))
    assert response.result == CommandResponseType.ACCEPTED
    await sim.wait_idle()
    kinds = emsp.kinds()
    assert kinds[:3] == ["RESULT ACCEPTED", "PUT PENDING", "PATCH ACTIVE"]
    assert kinds[-2:] == ["PATCH COMPLETED", "CDR"]
    cdr = Cdr.model_validate(emsp.requests[-1][2])
    assert cdr.authorization_reference == "ref-driver-1"
    assert cdr.total_energy == sum(d.volume for p in cdr.charging_periods for d in p.dimensions if d.type == "ENERGY")
    starts = [p.start_date_time for p in cdr.charging_periods]
    assert starts == sorted(starts)
    assert cdr.total_cost.excl_vat > 0
    assert cdr.currency == "EUR"
    await http.aclose()


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        ("sim-fail-x", ["RESULT FAILED"]),
        ("sim-no-show-x", ["RESULT ACCEPTED"]),
        ("sim-invalid-x", ["RESULT ACCEPTED", "PUT PENDING", "PATCH ACTIVE", "PATCH INVALID"]),
    ],
)
async def test_failure_modes(driver: str, expected: list[str]) -> None:
    emsp = Emsp()
    sim, http = simulator(emsp)
    await sim.start_session(("DE", "STN"), start_command(driver))
    await sim.wait_idle()
    assert emsp.kinds() == expected
    await http.aclose()


async def test_a_refused_start_and_a_repeated_command() -> None:
    emsp = Emsp()
    sim, http = simulator(emsp)
    assert (
        await sim.start_session(("DE", "STN"), start_command("sim-reject-x"))
    ).result == CommandResponseType.REJECTED
    first = await sim.start_session(("DE", "STN"), start_command("sim-no-cdr-x"))
    again = await sim.start_session(("DE", "STN"), start_command("sim-no-cdr-x"))
    assert first.result == again.result == CommandResponseType.ACCEPTED
    await sim.wait_idle()
    assert emsp.kinds().count("PUT PENDING") == 1  # the retried command started no second session
    assert "CDR" not in emsp.kinds()
    await http.aclose()


async def test_stop_ends_a_session_that_charges_until_stopped() -> None:
    emsp = Emsp()
    sim, http = simulator(emsp)
    await sim.start_session(("DE", "STN"), start_command("sim-until-stop-x"))
    for _ in range(200):  # the session reports ACTIVE within a few loop turns
        if "PATCH ACTIVE" in emsp.kinds():
            break
        await asyncio.sleep(0.02)
    session_id = emsp.requests[1][2]["id"]
    unknown = await sim.stop_session(("DE", "STN"), StopSession(response_url="http://emsp/x", session_id="nope"))
    assert unknown.result == CommandResponseType.UNKNOWN_SESSION
    stop = StopSession(response_url="http://emsp/ocpi/emsp/2.2.1/commands/STOP_SESSION/s-1", session_id=str(session_id))
    assert (await SimulatorCpoAdapter(sim).stop_session(ENDPOINT, stop)).result == CommandResponseType.ACCEPTED
    await sim.wait_idle()
    assert emsp.kinds()[-1] == "CDR"
    await http.aclose()


async def test_pushes_are_retried_after_server_errors() -> None:
    emsp = Emsp(failures=2)
    sim, http = simulator(emsp)
    await sim.start_session(("DE", "STN"), start_command("sim-fail-y"))
    await sim.wait_idle()
    assert emsp.kinds() == ["RESULT FAILED"]
    await http.aclose()


def timestamps(body: object) -> list[datetime]:
    """Every date-time field of an OCPI object, however deep."""
    if isinstance(body, dict):
        found = [
            datetime.fromisoformat(value)
            for key, value in body.items()
            if isinstance(value, str) and (key.endswith("_date_time") or key == "last_updated")
        ]
        return found + [stamp for value in body.values() for stamp in timestamps(value)]
    if isinstance(body, list):
        return [stamp for value in body for stamp in timestamps(value)]
    return []


async def test_nothing_it_reports_lies_in_the_future() -> None:
    emsp = Emsp()
    sim, http = simulator(emsp)
    now = datetime.now(UTC)
    requested = now.replace(microsecond=now.microsecond // 1000 * 1000)  # OCPI DateTimes keep milliseconds
    await sim.start_session(("DE", "STN"), start_command("driver-2"))
    await sim.wait_idle()
    assert emsp.kinds()[-1] == "CDR"
    for (method, path, body), received in zip(emsp.requests, emsp.received_at, strict=True):
        for stamp in timestamps(body):
            assert stamp <= received, f"{method} {path}: {stamp} is after it was sent ({received})"
    cdr = Cdr.model_validate(emsp.requests[-1][2])
    assert requested <= cdr.start_date_time < cdr.end_date_time <= emsp.received_at[-1]
    assert cdr.total_energy > 0  # compressed: a 0.3 s session still charges (3 minutes' worth at 50 kW)
    assert cdr.total_cost.excl_vat > 0
    await http.aclose()


async def test_by_default_a_push_is_retried_for_at_least_ten_minutes() -> None:
    assert SimulatorConfig.model_validate(simulator_config(SIM)).push_retry_for_s >= 600


async def test_pushes_ride_out_an_outage_longer_than_a_few_attempts() -> None:
    emsp = Emsp(failures=40)  # the eMSP answers 503 forty times in a row, then recovers
    sim, http = simulator(emsp, push_backoff_max_s=0.01)
    await sim.start_session(("DE", "STN"), start_command("driver-3"))
    await sim.wait_idle()
    assert emsp.kinds()[:3] == ["RESULT ACCEPTED", "PUT PENDING", "PATCH ACTIVE"]
    assert emsp.kinds()[-2:] == ["PATCH COMPLETED", "CDR"]
    await http.aclose()


async def test_a_429_is_retried_after_the_seconds_it_names() -> None:
    emsp = Emsp(failures=1, failure=httpx.Response(429, headers={"Retry-After": "1"}))
    sim, http = simulator(emsp)
    await sim.start_session(("DE", "STN"), start_command("sim-fail-z"))
    await sim.wait_idle()
    assert emsp.kinds() == ["RESULT FAILED"]
    assert time.monotonic() - emsp.failed_at[0] >= 1
    await http.aclose()


async def test_a_push_is_given_up_after_its_retry_period() -> None:
    emsp = Emsp(failures=10_000)
    sim, http = simulator(emsp, push_retry_for_s=0.5, push_backoff_max_s=0.05)
    began = time.monotonic()
    await sim.start_session(("DE", "STN"), start_command("sim-fail-w"))
    await sim.wait_idle()
    assert 0.3 <= time.monotonic() - began < 2
    assert emsp.requests == []
    await http.aclose()


def front() -> tuple[Any, httpx.AsyncClient]:
    app = create_app(SimulatorConfig.model_validate(simulator_config(SIM)), registered())
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM)


def token(value: str) -> dict[str, str]:
    return {"Authorization": ocpi_token_header(value)}


async def test_the_http_front_takes_commands_with_the_token_b_of_the_cpo_addressed() -> None:
    app, client = front()
    async with app.router.lifespan_context(app), client:
        body = start_command("sim-reject-z").model_dump_json()
        url = f"{STN}/commands/START_SESSION"
        refused = await client.post(url, content=body)
        assert (refused.status_code, refused.json()["status_code"]) == (401, 2000)
        assert (await client.post(url, content=body, headers=token(TOKEN_C))).status_code == 401  # not ours
        other_cpo = f"{SIM}/cpo/ch-vsw/ocpi/2.2.1/commands/START_SESSION"
        assert (await client.post(other_cpo, content=body, headers=token(TOKEN_B))).status_code == 401
        ok = await client.post(url, content=body, headers=token(TOKEN_B))
        assert ok.json()["status_code"] == 1000
        assert ok.json()["data"]["result"] == "REJECTED"
        raw = await client.post(url, content=body, headers={"Authorization": f"Token {TOKEN_B}"})
        assert raw.json()["status_code"] == 1000  # an unencoded token from an older peer
        bad = await client.post(url, content="{}", headers=token(TOKEN_B))
        assert bad.json()["status_code"] == 2001


async def test_the_http_front_serves_versions_details_and_credentials_with_the_ids_echoed() -> None:
    app, client = front()
    async with app.router.lifespan_context(app), client:
        ids = {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
        versions = await client.get(f"{SIM}/cpo/DE-STN/ocpi/versions", headers=token(TOKEN_B) | ids)
        assert versions.json()["data"] == [{"version": "2.2.1", "url": STN}]
        assert transport_problems(versions) == []
        assert (versions.headers["X-Request-ID"], versions.headers["X-Correlation-ID"]) == ("req-1", "corr-1")
        details = (await client.get(STN, headers=token(TOKEN_B))).json()["data"]
        modules = {(e["identifier"], e["role"]) for e in details["endpoints"]}
        assert modules == {
            ("credentials", "SENDER"),
            ("credentials", "RECEIVER"),
            ("locations", "SENDER"),
            ("tariffs", "SENDER"),
            ("commands", "RECEIVER"),
        }
        credentials = (await client.get(f"{STN}/credentials", headers=token(TOKEN_B))).json()["data"]
        assert credentials["url"] == f"{SIM}/cpo/de-stn/ocpi/versions"
        assert [(r["role"], r["country_code"], r["party_id"]) for r in credentials["roles"]] == [("CPO", "DE", "STN")]
        unknown = await client.get(f"{SIM}/cpo/de-stn/ocpi/versions", headers=token("nope") | ids)
        assert (unknown.status_code, unknown.json()["status_code"]) == (401, 2000)
        assert unknown.headers["X-Request-ID"] == "req-1"


async def test_the_locations_sender_list_is_paginated_with_next_links() -> None:
    app, client = front()
    async with app.router.lifespan_context(app), client:
        url: str | None = f"{STN}/locations"
        pulled, totals = [], set()
        while url is not None:
            page = await client.get(url, headers=token(TOKEN_B))
            assert page.headers["X-Limit"] == "1"
            totals.add(page.headers["X-Total-Count"])
            pulled += page.json()["data"]
            url = page.links.get("next", {}).get("url")
        assert [location["id"] for location in pulled] == ["BER-ALEX", "MUC-OST"]
        assert totals == {"2"}
        evse = pulled[0]["evses"][0]
        assert evse["connectors"][0]["tariff_ids"] == ["STN-AC-DC"]
        later = await client.get(
            f"{STN}/locations", params={"date_from": "2026-06-01T00:00:00Z"}, headers=token(TOKEN_B)
        )
        assert (later.json()["data"], later.headers["X-Total-Count"]) == ([], "0")
        tariffs = (await client.get(f"{STN}/tariffs", headers=token(TOKEN_B))).json()["data"]
        assert [t["id"] for t in tariffs] == ["STN-AC-DC"]
        bad = await client.get(f"{STN}/tariffs", params={"offset": "-1"}, headers=token(TOKEN_B))
        assert bad.json()["status_code"] == 2001


def answer(content: bytes, request_ids: tuple[str, str], echoed: tuple[str, str]) -> httpx.Response:
    names = ("X-Request-ID", "X-Correlation-ID")
    request = httpx.Request("GET", "http://emsp/x", headers=dict(zip(names, request_ids, strict=True)))
    headers = dict(zip(names, echoed, strict=True))
    return httpx.Response(200, content=content, headers=headers, request=request)


async def test_the_transport_check_names_what_an_answer_breaks() -> None:
    good = b'{"data": null, "status_code": 1000, "timestamp": "2026-06-01T10:00:00.123Z"}'
    assert transport_problems(answer(good, ("a", "b"), ("a", "b"))) == []
    assert transport_problems(answer(good, ("a", "b"), ("x", "b"))) == ["X-Request-ID 'x', sent 'a'"]
    offset = b'{"status_code": 1000, "timestamp": "2026-06-01T10:00:00+00:00"}'
    assert transport_problems(answer(offset, ("a", "b"), ("a", "b"))) == [
        "timestamp '2026-06-01T10:00:00+00:00' is not an OCPI DateTime"
    ]
    assert transport_problems(answer(b"<html>", ("a", "b"), ("a", "b"))) == ["HTTP 200: not JSON"]
