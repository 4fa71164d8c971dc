"""The CPO simulator on its own: the OCPI messages it sends, its failure modes, its in-process adapter
and its HTTP front, against a recording eMSP built on httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from adapters.cpo import CpoEndpoint, ocpi_token_header
from cli.seed import CPOS, simulator_config
from messages.ocpi import Cdr, CommandResponseType, StartSession, StopSession, Token, TokenType, WhitelistType
from simulator.adapter import SimulatorCpoAdapter
from simulator.app import create_app
from simulator.config import SimulatorConfig
from simulator.engine import CpoSimulator

pytestmark = pytest.mark.asyncio(loop_scope="session")
STROMNETZ = next(c for c in CPOS if c.id == "cpo-de-stn")
ENDPOINT = CpoEndpoint("cpo-de-stn", "DE", "STN", "http://sim/ocpi/cpo/2.2.1/commands/", STROMNETZ.token_from_emsp)


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
        assert request.headers["Authorization"] == ocpi_token_header(STROMNETZ.token_to_emsp)
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
        simulator_config("http://emsp", charge_duration_s=charge_s, patch_interval_s=0.1) | overrides
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(emsp))
    return CpoSimulator(config, http), http


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
    assert SimulatorConfig.model_validate(simulator_config("http://emsp")).push_retry_for_s >= 600


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


async def test_the_http_front_checks_credentials() -> None:
    config = SimulatorConfig.model_validate(simulator_config("http://emsp"))
    app = create_app(config)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client,
    ):
        body = start_command("sim-reject-z").model_dump_json()
        url = "/ocpi/cpo/2.2.1/commands/START_SESSION"
        assert (await client.post(url, content=body)).status_code == 401
        ok = await client.post(
            url, content=body, headers={"Authorization": ocpi_token_header(STROMNETZ.token_from_emsp)}
        )
        assert ok.json()["status_code"] == 1000
        assert ok.json()["data"]["result"] == "REJECTED"
        bad = await client.post(
            url, content="{}", headers={"Authorization": ocpi_token_header(STROMNETZ.token_from_emsp)}
        )
        assert bad.json()["status_code"] == 2001
