"""GET on our Sessions and Tariffs receivers: the CPO reads back what we hold (OCPI's recovery after a failed
PATCH is GET, then PUT when we hold none), under any spelling of its ids, never another party's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from domain.sessions.lifecycle import SessionStage
from persistence.tables import OcpiSessionRow
from tests.e2e.conftest import BORNEO, Stack
from tests.e2e.test_ocpi_intake import OCPI, cpo_headers, extra_tariff, stamp

pytestmark = pytest.mark.asyncio(loop_scope="session")


def held(reply: httpx.Response) -> Any:
    assert (reply.status_code, reply.json()["status_code"]) == (200, 1000), reply.text
    return json.loads(reply.text, parse_float=Decimal)["data"]


def volume(period: dict[str, Any]) -> Decimal:
    found = period["dimensions"][0]["volume"]
    assert isinstance(found, Decimal | int), f"{found!r} is not a JSON number"
    return Decimal(found)


def assert_unknown(reply: httpx.Response) -> None:
    assert (reply.status_code, reply.json()["status_code"]) == (404, 2000), reply.text
    assert reply.json()["data"] is None


async def test_a_session_reads_back_as_we_hold_it_after_put_and_patch(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-no-cdr-gets")
    cpo_session_id = (await stack.wait_for(session_id, SessionStage.AWAITING_CDR))["cpo_session_id"]
    url = f"{OCPI}/sessions/DE/STN/{cpo_session_id}"
    with stack.writes() as db:
        stored = db.scalars(select(OcpiSessionRow).where(OcpiSessionRow.our_session_id == session_id)).one().body
    # The stored body keeps pydantic's JSON dump of its Decimals, strings; OCPI's `number` is a JSON number.
    assert isinstance(stored["kwh"], str)
    first = held(await stack.http.get(url, headers=cpo_headers(stack)))
    assert first == {**stored, "kwh": Decimal(stored["kwh"]), "charging_periods": first["charging_periods"]}
    assert [volume(period) for period in first["charging_periods"]] == [
        Decimal(period["dimensions"][0]["volume"]) for period in stored["charging_periods"]
    ]

    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    replaced = {**stored, "kwh": 12.3456, "charging_periods": [], "last_updated": stamp(later)}
    put = await stack.http.put(url, content=json.dumps(replaced), headers=cpo_headers(stack))
    assert put.json()["status_code"] == 1000, put.text
    lower_case = f"{OCPI}/sessions/de/stn/{cpo_session_id.lower()}"
    after_put = held(await stack.http.get(lower_case, headers=cpo_headers(stack)))
    # Exactly the digits sent, as a JSON number (a string would not equal a Decimal).
    expected: tuple[Decimal, list[Any], str] = (Decimal("12.3456"), [], cpo_session_id)
    assert (after_put["kwh"], after_put["charging_periods"], after_put["id"]) == expected

    period = {"start_date_time": stamp(later), "dimensions": [{"type": "ENERGY", "volume": 1.5}]}
    patch = {"kwh": 8.75, "charging_periods": [period], "last_updated": stamp(later + timedelta(seconds=1))}
    patched = await stack.http.patch(url, content=json.dumps(patch), headers=cpo_headers(stack))
    assert patched.json()["status_code"] == 1000, patched.text
    mixed_case = f"{OCPI}/sessions/De/sTn/{cpo_session_id.swapcase()}"
    after_patch = held(await stack.http.get(mixed_case, headers=cpo_headers(stack)))
    assert after_patch["kwh"] == Decimal("8.75")
    (appended,) = after_patch["charging_periods"]  # the PUT's empty list, then the PATCH's period
    assert appended["start_date_time"] == period["start_date_time"]
    assert volume(appended) == Decimal("1.5")
    assert after_patch["last_updated"] == patch["last_updated"]

    assert_unknown(await stack.http.get(f"{OCPI}/sessions/DE/STN/no-such-session", headers=cpo_headers(stack)))
    # Another CPO reads neither under the owner's key nor under its own.
    assert_unknown(await stack.http.get(url, headers=cpo_headers(stack, BORNEO.id)))
    foreign = f"{OCPI}/sessions/FR/BRN/{cpo_session_id}"
    assert_unknown(await stack.http.get(foreign, headers=cpo_headers(stack, BORNEO.id)))


async def test_a_tariff_reads_back_as_sent_until_deleted(stack: Stack) -> None:
    tariff = extra_tariff("2026-01-01T00:00:00Z") | {"id": "STN-GET-TARIFF"}
    sent = json.dumps(tariff).replace("0.45", "0.450")  # as the CPO wrote it: no float ever re-renders it
    url = f"{OCPI}/tariffs/DE/STN/STN-GET-TARIFF"
    assert_unknown(await stack.http.get(url, headers=cpo_headers(stack)))
    assert (await stack.http.put(url, content=sent, headers=cpo_headers(stack))).status_code == 201
    reply = await stack.http.get(f"{OCPI}/tariffs/de/stn/stn-get-tariff", headers=cpo_headers(stack))
    assert held(reply) == json.loads(sent, parse_float=Decimal)
    assert '"price": 0.450' in reply.text

    newer = extra_tariff("2026-02-01T00:00:00Z", 0.5) | {"id": "STN-GET-TARIFF"}
    assert (await stack.http.put(url, content=json.dumps(newer), headers=cpo_headers(stack))).status_code == 201
    stale = extra_tariff("2025-12-01T00:00:00Z", 0.1) | {"id": "STN-GET-TARIFF"}
    assert (await stack.http.put(url, content=json.dumps(stale), headers=cpo_headers(stack))).json()[
        "status_code"
    ] == 1000
    assert held(await stack.http.get(url, headers=cpo_headers(stack)))["last_updated"] == "2026-02-01T00:00:00Z"

    assert_unknown(await stack.http.get(url, headers=cpo_headers(stack, BORNEO.id)))
    foreign = f"{OCPI}/tariffs/FR/BRN/STN-GET-TARIFF"
    assert_unknown(await stack.http.get(foreign, headers=cpo_headers(stack, BORNEO.id)))
    assert (await stack.http.delete(url, headers=cpo_headers(stack))).json()["status_code"] == 1000
    assert_unknown(await stack.http.get(url, headers=cpo_headers(stack)))
