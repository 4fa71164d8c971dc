"""The Locations Receiver over HTTP: a CPO's Locations, EVSEs and connectors as it pushes them, read back as
we hold them, never overwritten by older news; the connectors' tariffs price the sessions started on them, and
an EVSE we do not know, one retired or broken, or one without a tariff in force, refuses a session."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from domain.sessions.lifecycle import SessionStage
from persistence import locations as stored
from persistence.tables import LocationRow, OcpiInboxRow, OcpiSessionRow, SessionRow, TariffRow
from tests.e2e.conftest import BORNEO, STROMNETZ, Stack
from tests.e2e.test_ocpi_fuzz import SESSION
from tests.e2e.test_ocpi_intake import OCPI, cpo_headers, extra_tariff, inbox_row

pytestmark = pytest.mark.asyncio(loop_scope="session")

EARLIER = "2026-06-01T10:00:00Z"
LATER = "2026-06-01T11:00:00Z"
LATEST = "2026-06-01T12:00:00Z"


def connector(connector_id: str = "1", *, tariff_ids: list[str] | None = None, at: str = EARLIER) -> dict[str, Any]:
    return {
        "id": connector_id,
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 32,
        "tariff_ids": ["STN-TEST-TARIFF"] if tariff_ids is None else tariff_ids,
        "last_updated": at,
    }


def evse(uid: str, *, status: str = "AVAILABLE", tariff_ids: list[str] | None = None) -> dict[str, Any]:
    return {
        "uid": uid,
        "evse_id": f"DE*STN*E{uid}",
        "status": status,
        "connectors": [connector(tariff_ids=tariff_ids)],
        "last_updated": EARLIER,
    }


def location(location_id: str, *evses: dict[str, Any]) -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": "STN",
        "id": location_id,
        "publish": True,
        "name": "Hafen",
        "address": "Am Kai 1",
        "city": "Hamburg",
        "postal_code": "20457",
        "country": "DEU",
        "coordinates": {"latitude": "53.543210", "longitude": "9.987650"},
        "time_zone": "Europe/Berlin",
        "facilities": ["CAFE"],  # descriptive: kept as received
        "evses": list(evses),
        "last_updated": EARLIER,
    }


def fresh(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


async def put(stack: Stack, path: str, body: dict[str, Any], cpo_id: str = STROMNETZ.id) -> Any:
    return await stack.http.put(
        f"{OCPI}/locations/{path}", content=json.dumps(body), headers=cpo_headers(stack, cpo_id)
    )


async def patch(stack: Stack, path: str, body: dict[str, Any]) -> Any:
    return await stack.http.patch(f"{OCPI}/locations/{path}", content=json.dumps(body), headers=cpo_headers(stack))


async def get(stack: Stack, path: str) -> Any:
    return await stack.http.get(f"{OCPI}/locations/{path}", headers=cpo_headers(stack))


def answer(reply: Any) -> tuple[int, int]:
    return reply.status_code, reply.json()["status_code"]


async def test_a_location_put_is_read_back_as_received_whatever_the_case_of_the_url(stack: Stack) -> None:
    location_id, uid = fresh("HAM-"), fresh("H")
    sent = location(location_id, evse(uid))
    assert answer(await put(stack, f"DE/STN/{location_id}", sent)) == (201, 1000)
    read = await get(stack, f"de/stn/{location_id.lower()}")
    assert answer(read) == (200, 1000)
    assert read.json()["data"] == sent
    # The same Location again, by a lower-case URL, replaces it: no second Location.
    renamed = sent | {"name": "Hafen Süd", "last_updated": LATER}
    assert answer(await put(stack, f"de/stn/{location_id.lower()}", renamed)) == (200, 1000)
    assert (await get(stack, f"DE/STN/{location_id}")).json()["data"]["name"] == "Hafen Süd"
    assert (await get(stack, f"DE/STN/{location_id}/{uid.lower()}/1")).json()["data"] == sent["evses"][0]["connectors"][
        0
    ]
    with stack.writes() as db:
        rows = db.scalars(select(LocationRow).where(LocationRow.location_id == location_id)).all()
        assert [(row.country, row.time_zone, row.name) for row in rows] == [("DE", "Europe/Berlin", "Hafen Süd")]
    assert inbox_row(stack, "LOCATION_PUT", location_id).outcome == "APPLIED"


async def test_an_evse_status_patch_applies_when_newer_and_is_kept_not_applied_when_older(stack: Stack) -> None:
    location_id, uid = fresh("HAM-"), fresh("H")
    await put(stack, f"DE/STN/{location_id}", location(location_id, evse(uid)))
    path = f"DE/STN/{location_id}/{uid}"
    assert answer(await patch(stack, path, {"status": "CHARGING", "last_updated": LATEST})) == (200, 1000)
    older = await patch(stack, path, {"status": "OUTOFORDER", "last_updated": LATER})
    assert answer(older) == (200, 1000)
    assert "older" in older.json()["status_message"]
    held = (await get(stack, path)).json()["data"]
    assert (held["status"], held["last_updated"]) == ("CHARGING", LATEST)
    # The Location's last_updated follows its EVSE's (mod_locations: the Receiver bumps it).
    assert (await get(stack, f"DE/STN/{location_id}")).json()["data"]["last_updated"] == LATEST
    with stack.writes() as db:
        location_row = stored.location_row(db, "cpo-de-stn", location_id)
        assert location_row is not None
        evse_row = stored.evse_row(db, location_row, uid)
        assert evse_row is not None
        history = [(row.status, row.changed_at.isoformat()) for row in stored.status_history(db, evse_row)]
        assert history == [("AVAILABLE", "2026-06-01T10:00:00+00:00"), ("CHARGING", "2026-06-01T12:00:00+00:00")]
    assert inbox_row(stack, "LOCATION_PATCH", f"{location_id}/{uid}").outcome == "STALE"
    # A PATCH must say when it was made, and of an object we hold.
    undated = await patch(stack, path, {"status": "AVAILABLE"})
    assert answer(undated) == (200, 2001)
    assert "last_updated" in undated.json()["status_message"]
    unknown = await patch(stack, f"DE/STN/{location_id}/NOPE", {"status": "AVAILABLE", "last_updated": LATEST})
    assert answer(unknown) == (404, 2003)


async def test_a_connector_put_sets_the_tariff_that_prices_sessions_on_it(stack: Stack) -> None:
    tariff_x = fresh("X-")
    tariff = extra_tariff("2026-01-01T00:00:00Z", 0.61) | {"id": tariff_x}
    reply = await stack.http.put(
        f"{OCPI}/tariffs/DE/STN/{tariff_x}", content=json.dumps(tariff), headers=cpo_headers(stack)
    )
    assert reply.status_code == 201
    location_id, uid = fresh("HAM-"), fresh("H")
    await put(stack, f"DE/STN/{location_id}", location(location_id, evse(uid)))
    # A connector added with tariff X and one unknown tariff id: the first in force is X.
    second = connector("2", tariff_ids=["NOT-A-TARIFF", tariff_x], at=LATER)
    assert answer(await put(stack, f"DE/STN/{location_id}/{uid}/2", second)) == (201, 1000)
    assert answer(await patch(stack, f"DE/STN/{location_id}/{uid}/1", {"tariff_ids": [], "last_updated": LATER})) == (
        200,
        1000,
    )
    assert (await get(stack, f"DE/STN/{location_id}/{uid}/2")).json()["data"]["tariff_ids"] == [
        "NOT-A-TARIFF",
        tariff_x,
    ]
    session_id = await stack.start(f"DE*STN*E{uid}", "driver-tariff-x")
    await stack.result(session_id)  # the simulator knows nothing of this Location: the start fails
    with stack.writes() as db:
        session = db.get_one(SessionRow, session_id)
        assert session.tariff_version_key is not None
        chosen = db.get_one(TariffRow, session.tariff_version_key)
        assert (chosen.tariff_id, session.location_id, session.evse_uid) == (tariff_x, location_id, uid)


@pytest.mark.parametrize(
    ("status", "tariff_ids", "reason"),
    [
        ("REMOVED", None, "EVSE_REMOVED"),
        ("OUTOFORDER", None, "EVSE_OUT_OF_ORDER"),
        ("INOPERATIVE", None, "EVSE_INOPERATIVE"),
        ("AVAILABLE", [], "NO_TARIFF_IN_FORCE"),  # no tariff ids: unknown price, not free
        ("AVAILABLE", ["NEVER-PUT"], "NO_TARIFF_IN_FORCE"),
    ],
)
async def test_a_session_on_an_unusable_evse_is_rejected_with_its_reason(
    stack: Stack, status: str, tariff_ids: list[str] | None, reason: str
) -> None:
    location_id, uid = fresh("HAM-"), fresh("H")
    await put(stack, f"DE/STN/{location_id}", location(location_id, evse(uid, status=status, tariff_ids=tariff_ids)))
    session_id = await stack.start(f"DE*STN*E{uid}", "driver-refused")
    result = await stack.result(session_id)
    assert result.stage == SessionStage.REJECTED
    assert (await stack.get(session_id))["reason"].startswith(reason)


async def test_a_session_on_an_evse_we_do_not_know_is_rejected(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E-NOWHERE", "driver-refused")
    assert (await stack.result(session_id)).stage == SessionStage.REJECTED
    assert (await stack.get(session_id))["reason"].startswith("UNKNOWN_EVSE")


async def test_a_session_or_cdr_at_an_unknown_location_is_stored_and_answered_2003(stack: Stack) -> None:
    session_id = fresh("S-")
    session = SESSION | {"id": session_id, "location_id": "NOWHERE"}
    reply = await stack.http.put(
        f"{OCPI}/sessions/DE/STN/{session_id}", content=json.dumps(session), headers=cpo_headers(stack)
    )
    assert answer(reply) == (200, 2003)
    kept = inbox_row(stack, "SESSION_PUT", session_id)
    assert (kept.outcome, json.loads(kept.body)) == ("UNKNOWN_LOCATION", session)
    unknown_evse = SESSION | {"id": session_id, "evse_uid": "BER-ALEX-9"}
    reply = await stack.http.put(
        f"{OCPI}/sessions/DE/STN/{session_id}", content=json.dumps(unknown_evse), headers=cpo_headers(stack)
    )
    assert answer(reply) == (200, 2003)
    with stack.writes() as db:
        assert db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.session_id == session_id)).all() == []


async def test_another_partys_location_is_refused_and_changes_nothing(stack: Stack) -> None:
    location_id = fresh("PAR-")
    foreign = location(location_id) | {"country_code": "FR", "party_id": "BRN"}
    reply = await put(stack, f"FR/BRN/{location_id}", foreign)
    assert reply.status_code == 404
    assert reply.json()["status_code"] == 2000
    assert inbox_row(stack, "LOCATION_PUT", location_id).outcome == "REJECTED"
    # Its owner may; then the other CPO neither reads nor patches it.
    assert answer(await put(stack, f"FR/BRN/{location_id}", foreign, BORNEO.id)) == (201, 1000)
    assert (await get(stack, f"FR/BRN/{location_id}")).status_code == 404
    refused = await patch(stack, f"FR/BRN/{location_id}", {"name": "Mine", "last_updated": LATEST})
    assert refused.status_code == 404
    with stack.writes() as db:
        held = db.scalars(select(LocationRow).where(LocationRow.location_id == location_id)).one()
        assert (held.cpo_id, held.name) == ("cpo-fr-brn", "Hafen")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"country": "XXX"}, "country"),
        ({"coordinates": {"latitude": "53.5", "longitude": "9.987650"}}, "coordinates.latitude"),
        ({"id": "OTHER"}, "id"),
        ({"evses": [evse("E1") | {"status": "BROKEN"}]}, "evses.0.status"),
        ({"evses": [evse("E1") | {"connectors": []}]}, "evses.0.connectors"),
        ({"last_updated": None}, "last_updated"),
    ],
)
async def test_a_bad_location_is_refused_naming_the_field_and_stored(
    stack: Stack, change: dict[str, Any], field: str
) -> None:
    location_id = fresh("BAD-")
    reply = await put(stack, f"DE/STN/{location_id}", location(location_id) | change)
    assert answer(reply) == (200, 2001)
    assert field in reply.json()["status_message"]
    assert inbox_row(stack, "LOCATION_PUT", location_id).outcome == "REJECTED"
    assert (await get(stack, f"DE/STN/{location_id}")).status_code == 404


async def test_an_evse_under_an_unknown_location_is_answered_2003(stack: Stack) -> None:
    reply = await put(stack, "DE/STN/NOWHERE/E1", evse("E1"))
    assert answer(reply) == (404, 2003)
    with stack.writes() as db:
        assert db.scalars(select(OcpiInboxRow).where(OcpiInboxRow.object_id == "NOWHERE/E1")).first() is not None
