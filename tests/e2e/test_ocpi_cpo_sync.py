"""After a CPO registers we pull its Locations and Tariffs (its paginated Sender lists) over real HTTP, on
both databases: everything valid is stored as a PUT of it would be and read back on our receivers, an
invalid object is refused alone (kept in the inbox with its reason), a page that fails on the way is asked
again, a module whose pull keeps failing imports nothing and is reported, and a push newer than the pull
wins. The CPO is the credentials tests' fake CPO with Sender lists served page by page."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from api.ocpi_pagination import Page, PageQuery, serve_page
from cli import partners as cli_partners
from cli.main import parser
from cli.processes import free_port
from messages.cpo_sync import CpoSyncResult
from messages.workflow_ids import cpo_sync_workflow_id
from persistence.tables import OcpiInboxRow, SessionRow, TariffRow
from services.cpo_onboarding import CpoCompany, CpoTerms, set_cpo_terms
from tests.conftest import fresh_party_id
from tests.e2e.conftest import Stack, serve
from tests.e2e.test_ocpi_credentials import CREDENTIALS, MODULES, FakeCpo, invite, ours, temporal, token_headers
from tests.e2e.test_ocpi_intake import OCPI
from tests.e2e.test_ocpi_locations import EARLIER, LATER, connector

pytestmark = pytest.mark.asyncio(loop_scope="session")

SENDERS = [*MODULES, ("tariffs", "SENDER")]  # MODULES offers locations as SENDER already


@dataclass
class PullingCpo(FakeCpo):
    """The fake CPO, with Locations and Tariffs Sender lists two objects a page."""

    locations: list[dict[str, Any]] = field(default_factory=list)
    tariffs: list[dict[str, Any]] = field(default_factory=list)
    unavailable: dict[str, int] = field(default_factory=dict)  # module: 503s still to answer after page 1
    broken: set[str] = field(default_factory=set)  # modules answering an OCPI error, always

    def app(self) -> FastAPI:
        app = super().app()

        def sender(module: str, objects: list[dict[str, Any]]) -> None:
            async def listed(request: Request) -> Response:
                if module in self.broken:
                    return JSONResponse({"status_code": 3000, "status_message": "our database is away"})
                if request.query_params.get("offset", "0") != "0" and self.unavailable.get(module, 0) > 0:
                    self.unavailable[module] -= 1
                    return Response(status_code=503)

                async def load(query: PageQuery) -> Page:
                    return Page(objects[query.offset : query.offset + query.limit], len(objects))

                return await serve_page(request, self.url, load, max_limit=2)

            app.add_api_route(f"/ocpi/2.2.1/{module}", listed, methods=["GET"])

        sender("locations", self.locations)
        sender("tariffs", self.tariffs)
        return app

    def location(self, location_id: str, uid: str, tariff_id: str, at: str = EARLIER) -> dict[str, Any]:
        return {
            "country_code": self.country_code,
            "party_id": self.party_id,
            "id": location_id,
            "publish": True,
            "address": "Prinsengracht 1",
            "city": "Amsterdam",
            "country": "NLD",
            "coordinates": {"latitude": "52.370216", "longitude": "4.895168"},
            "time_zone": "Europe/Amsterdam",
            "evses": [
                {
                    "uid": uid,
                    "evse_id": self.evse_id(uid),
                    "status": "AVAILABLE",
                    "connectors": [connector(tariff_ids=[tariff_id])],
                    "last_updated": at,
                }
            ],
            "last_updated": at,
        }

    def evse_id(self, uid: str) -> str:
        return f"NL*{self.party_id}*E{uid}"

    def tariff(self, tariff_id: str, price: float) -> dict[str, Any]:
        return {
            "country_code": self.country_code,
            "party_id": self.party_id,
            "id": tariff_id,
            "currency": "EUR",
            # Written as a JSON number: it must reach us and come back as the CPO wrote it.
            "elements": [{"price_components": [{"type": "ENERGY", "price": price, "vat": 21.0, "step_size": 1}]}],
            "last_updated": EARLIER,
        }


@pytest_asyncio.fixture
async def pulling_cpo() -> AsyncIterator[PullingCpo]:
    port = free_port()
    cpo = PullingCpo(url=f"http://127.0.0.1:{port}", party_id=fresh_party_id(), modules=list(SENDERS))
    server, task = await serve(cpo.app(), port)
    try:
        yield cpo
    finally:
        server.should_exit = True
        await task


async def register(stack: Stack, cpo: PullingCpo, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """Invite, then the CPO's POST of its credentials: its id and its token C."""
    token_a = invite(stack, cpo, capsys)
    token_b = f"cpo-b-{uuid.uuid4().hex}"
    cpo.accepted = {token_b}
    reply = await stack.http.post(
        CREDENTIALS, content=json.dumps(cpo.credentials(token_b)), headers=token_headers(token_a)
    )
    assert reply.json()["status_code"] == 1000, reply.text
    return f"cpo-{cpo.country_code}-{cpo.party_id}".lower(), str(reply.json()["data"]["token"])


async def synced(stack: Stack, cpo_id: str) -> dict[str, dict[str, Any]]:
    """The result of the sync its registration started, per module."""
    handle = stack.temporal.get_workflow_handle(cpo_sync_workflow_id(cpo_id), result_type=CpoSyncResult)
    result = await asyncio.wait_for(handle.result(), timeout=60)
    return {m.module.value: m.model_dump(mode="json", exclude={"module"}) for m in result.modules}


async def sync_cpo(stack: Stack, cpo_id: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """``networkcore partners sync-cpo --cpo ID --json``: its exit code and its counts per module."""
    args = parser().parse_args(["partners", "sync-cpo", "--cpo", cpo_id, "--json"])
    capsys.readouterr()
    code = await asyncio.to_thread(cli_partners.run, stack.writes, args, ours(stack), temporal(stack))
    printed = json.loads(capsys.readouterr().out)
    return code, {m["module"]: {k: v for k, v in m.items() if k != "module"} for m in printed["modules"]}


def counts(pulled: int, stored: int, refused: int = 0, stale: int = 0) -> dict[str, Any]:
    return {"offered": True, "pulled": pulled, "stored": stored, "refused": refused, "stale": stale, "failure": None}


async def test_a_registered_cpos_locations_and_tariffs_are_pulled_whole_and_price_its_sessions(
    stack: Stack, pulling_cpo: PullingCpo, capsys: pytest.CaptureFixture[str]
) -> None:
    cpo = pulling_cpo
    tariff_id, uid = f"T-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:6].upper()
    cpo.tariffs += [cpo.tariff(tariff_id, 0.39), cpo.tariff(f"{tariff_id}-B", 0.51)]
    invalid = cpo.location("LOC-BAD", "BAD1", tariff_id) | {"coordinates": {"latitude": "north"}}
    cpo.locations += [cpo.location("LOC-1", uid, tariff_id), invalid, cpo.location("LOC-2", uid + "2", tariff_id)]
    cpo.unavailable["locations"] = 2  # its second page: 503 twice, then answered

    cpo_id, token_c = await register(stack, cpo, capsys)
    assert await synced(stack, cpo_id) == {"locations": counts(3, 2, refused=1), "tariffs": counts(2, 2)}
    assert cpo.unavailable["locations"] == 0, "the failed page was asked again"

    # Read back on our receivers as the CPO sent them.
    location = await stack.http.get(f"{OCPI}/locations/NL/{cpo.party_id}/LOC-1", headers=token_headers(token_c))
    assert location.json()["data"]["evses"][0]["evse_id"] == cpo.evse_id(uid)
    tariff = await stack.http.get(f"{OCPI}/tariffs/NL/{cpo.party_id}/{tariff_id}", headers=token_headers(token_c))
    assert '"price":0.39' in tariff.text.replace(" ", ""), "the price comes back as the number the CPO wrote"
    absent = await stack.http.get(f"{OCPI}/locations/NL/{cpo.party_id}/LOC-BAD", headers=token_headers(token_c))
    assert absent.status_code == 404
    with stack.writes() as db:
        refused = db.scalars(
            select(OcpiInboxRow).where(OcpiInboxRow.cpo_id == cpo_id, OcpiInboxRow.outcome == "REJECTED")
        ).one()
    assert (refused.kind, refused.object_id, refused.status_code) == ("LOCATION_PUT", "LOC-BAD", 2001)
    assert "coordinates" in (refused.message or "")

    # A session on the pulled EVSE is priced with the pulled tariff.
    with stack.writes.begin() as db:
        set_cpo_terms(db, cpo_id, CpoCompany(), CpoTerms(commission_percent=Decimal(8)), now=datetime.now(UTC))
    session_id = await stack.start(cpo.evse_id(uid), "driver-pulled")
    await asyncio.wait_for(stack.result(session_id), timeout=60)  # the fake CPO takes no commands: it fails there
    with stack.writes() as db:
        session = db.get_one(SessionRow, session_id)
        assert session.tariff_version_key is not None, session.reason
        assert db.get_one(TariffRow, session.tariff_version_key).tariff_id == tariff_id

    # A push newer than what the CPO's list still says wins over the next pull.
    pushed = cpo.location("LOC-1", uid, tariff_id, at=LATER) | {"name": "pushed"}
    reply = await stack.http.put(
        f"{OCPI}/locations/NL/{cpo.party_id}/LOC-1", content=json.dumps(pushed), headers=token_headers(token_c)
    )
    assert reply.json()["status_code"] == 1000
    code, again = await sync_cpo(stack, cpo_id, capsys)
    assert code == 0
    assert again["locations"] == counts(3, 1, refused=1, stale=1)
    assert again["tariffs"] == counts(2, 0, stale=2), "the versions we hold already"
    location = await stack.http.get(f"{OCPI}/locations/NL/{cpo.party_id}/LOC-1", headers=token_headers(token_c))
    assert location.json()["data"]["name"] == "pushed"


async def test_a_module_whose_pull_keeps_failing_imports_nothing_and_is_reported(
    stack: Stack, pulling_cpo: PullingCpo, capsys: pytest.CaptureFixture[str]
) -> None:
    cpo = pulling_cpo
    cpo.tariffs += [cpo.tariff("T-NEVER", 0.40)]
    cpo.locations += [cpo.location("LOC-OK", uuid.uuid4().hex[:6].upper(), "T-NEVER")]
    cpo.broken.add("tariffs")
    cpo_id, token_c = await register(stack, cpo, capsys)

    code, result = await sync_cpo(stack, cpo_id, capsys)  # joins the sync its registration started
    assert code == 1
    assert result["locations"] == counts(1, 1)
    assert "3000" in (result["tariffs"]["failure"] or "")
    assert result["tariffs"]["stored"] == 0
    with stack.writes() as db:
        assert db.scalars(select(TariffRow).where(TariffRow.cpo_id == cpo_id)).first() is None

    # Fixed on its side, the next sync imports it.
    cpo.broken.clear()
    code, result = await sync_cpo(stack, cpo_id, capsys)
    assert (code, result["tariffs"]) == (0, counts(1, 1))
    tariff = await stack.http.get(f"{OCPI}/tariffs/NL/{cpo.party_id}/T-NEVER", headers=token_headers(token_c))
    assert tariff.json()["data"]["id"] == "T-NEVER"
