"""The demo CPOs are CPOs like any other, on SQLite and PostgreSQL: invited with their company details and
terms, they registered through the OCPI credentials handshake run by the simulator (token A, then C) and
published their tariffs and locations to our receivers; sessions on their chargers settle, and the
simulator, checking every answer we gave it, found no transport rule broken. A second stack on the same
database (both sides on new ports) updates the credentials (PUT) and works too. The other way round,
``partners connect-cpo`` registers us with a simulated CPO that gave us a token A, and pulls its Sender
lists."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from adapters.cpo import ocpi_token_header
from cli import partners as cli_partners
from cli.main import parser
from cli.processes import free_port
from domain.sessions.lifecycle import SessionStage
from persistence import locations as stored
from persistence.repositories import tariff_versions
from persistence.tables import CpoRow
from services.cpo_onboarding import registered_catalogue
from simulator.app import create_app as create_simulator_app
from simulator.catalogue import CPOS, simulator_config
from simulator.config import SimulatorConfig
from tests.e2e.conftest import STROMNETZ, Stack, connect_demo_cpos, running_stack, serve
from tests.e2e.test_ocpi_cpo_sync import synced
from tests.e2e.test_ocpi_credentials import ours, temporal
from tests.e2e.test_ocpi_intake import OCPI, cpo_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def violations(stack: Stack) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=stack.simulator_url) as simulator:
        answer: dict[str, object] = (await simulator.get("/admin/violations")).json()
        return answer


async def test_the_demo_cpos_registered_over_ocpi_and_published_their_chargers(stack: Stack) -> None:
    with stack.writes() as db:
        for cpo in CPOS:
            assert registered_catalogue(db, cpo.id).registered
            # Its whole catalogue (other tests publish more under the same parties).
            for location in cpo.locations:
                held = stored.location_row(db, cpo.id, location.id)
                assert held is not None
                assert all(stored.evse_row(db, held, evse.uid) is not None for evse in location.evses)
            assert tariff_versions(db, cpo.id, cpo.tariff["id"])
            row = db.get_one(CpoRow, cpo.id)
            # What ops typed in at the invitation, and what the registration stored.
            assert (row.country_code, row.party_id, row.payout_currency, row.active) == (
                cpo.country_code,
                cpo.party_id,
                cpo.currency,
                True,
            )
            assert (row.vat_id is not None, row.iban) == (True, cpo.iban)
            assert row.commands_url == f"{stack.simulator_url}/cpo/{cpo.party}/ocpi/2.2.1/commands/"
    # Its token C opens our receivers; a lower-case party id in the URL is the same party.
    read_back = await stack.http.get(f"{OCPI}/locations/de/stn/ber-alex", headers=cpo_headers(stack))
    assert (read_back.status_code, read_back.json()["status_code"]) == (200, 1000)
    assert read_back.json()["data"]["id"] == "BER-ALEX"
    assert [evse["uid"] for evse in read_back.json()["data"]["evses"]] == ["BER-ALEX-1", "BER-ALEX-2"]
    tariff = await stack.http.get(f"{OCPI}/tariffs/de/stn/stn-ac-dc", headers=cpo_headers(stack))
    assert tariff.json()["data"]["elements"][0]["price_components"][0]["price"] == 0.59


async def test_a_session_settles_and_no_transport_rule_was_broken(stack: Stack) -> None:
    session_id = await stack.start("FR*BRN*E5001", "driver-demo-cpo")
    session = await stack.wait_for(session_id, SessionStage.SETTLED)
    assert (session["cpo_id"], session["currency"]) == ("cpo-fr-brn", "EUR")
    assert await violations(stack) == {"count": 0, "latest": []}


async def test_a_second_stack_on_the_database_updates_the_credentials(
    stack: Stack, dev_env: WorkflowEnvironment, engine: Engine, writes: sessionmaker[Session]
) -> None:
    old_token = stack.cpo_token(STROMNETZ.id)
    try:
        async with running_stack(dev_env, engine, writes) as second:
            assert second.cpo_token(STROMNETZ.id) != old_token  # PUT: new tokens both ways
            refused = await second.http.get(f"{OCPI}/locations/DE/STN/BER-ALEX", headers=token(old_token))
            assert refused.status_code == 401
            session_id = await second.start("CH*VSW*E1001", "driver-second-stack")
            await second.wait_for(session_id, SessionStage.SETTLED)
            assert await violations(second) == {"count": 0, "latest": []}
            with writes() as db:
                commands_url = db.get_one(CpoRow, STROMNETZ.id).commands_url
                assert commands_url.startswith(second.simulator_url)
    finally:
        # Back to the session's stack, for the tests after this one.
        await connect_demo_cpos(stack)
    session_id = await stack.start("DE*STN*E3002", "driver-back")
    await stack.wait_for(session_id, SessionStage.SETTLED)


def token(value: str) -> dict[str, str]:
    return {"Authorization": ocpi_token_header(value)}


def simulated_cpo(country_code: str, party_id: str) -> dict[str, Any]:
    """A CPO of the simulator's, with Stromnetz's chargers and tariff under its own ids."""
    template = simulator_config("")["cpos"][1]
    tariff = template["locations"][0]["evses"][0]["tariff"]
    tariff = tariff | {"country_code": country_code, "party_id": party_id, "id": f"{party_id}-TARIFF"}
    location = template["locations"][0]
    evses = [
        evse | {"uid": f"{party_id}-{index}", "evse_id": f"{country_code}*{party_id}*E{index}", "tariff": tariff}
        for index, evse in enumerate(location["evses"], 1)
    ]
    located = location | {"id": f"{party_id}-1", "evses": evses}
    return {"country_code": country_code, "party_id": party_id, "name": "Simulated Laden", "locations": [located]}


async def test_connect_cpo_registers_us_with_a_simulated_cpo_and_pulls_its_chargers(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = SimulatorConfig.model_validate(simulator_config(url) | {"cpos": [simulated_cpo("NL", "SIM")]})
    server, task = await serve(create_simulator_app(config), port)
    try:
        async with httpx.AsyncClient(base_url=url) as simulator:
            invitation = (await simulator.post("/admin/cpos/nl-sim/invite")).json()
            argv = [
                "partners",
                "connect-cpo",
                "--versions-url",
                invitation["versions_url"],
                f"--token={invitation['token']}",  # a urlsafe token may begin with '-'
            ]
            code = await asyncio.to_thread(
                cli_partners.run, stack.writes, parser().parse_args(argv), ours(stack), temporal(stack)
            )
            assert code == 0, capsys.readouterr().err
            counts = await synced(stack, "cpo-nl-sim")
            assert (counts["locations"]["stored"], counts["tariffs"]["stored"]) == (1, 1)
            with stack.writes() as db:
                held = registered_catalogue(db, "cpo-nl-sim")
                assert (held.registered, held.locations, held.evses, held.tariffs) == (True, 1, 2, 1)
                assert db.get_one(CpoRow, "cpo-nl-sim").commands_url == f"{url}/cpo/nl-sim/ocpi/2.2.1/commands/"
            # Token A was spent by our POST: it opens nothing now.
            spent = await simulator.get("/cpo/nl-sim/ocpi/versions", headers=token(invitation["token"]))
            assert spent.status_code == 401
            assert (await simulator.get("/admin/violations")).json()["count"] == 0
    finally:
        server.should_exit = True
        await task
