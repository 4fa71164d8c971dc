"""Drivers at the simulator's chargers: a tapped card (or a Plug & Charge car's eMA-ID) is authorised in real
time at our Tokens module with the CPO's token C; an ALLOWED tap charges on its authorization_reference to a
settled session of the token's partner, a refused one reports our answer and starts nothing. The demo's
drivers (seeded cards, a Plug & Charge car, a blocked card) end as the demo expects."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cli.demo import drive, taps
from domain.sessions.lifecycle import SessionStage
from domain.tokens import emaid_check_character
from messages.ocpi import AllowedType, OcpiStatus
from persistence.tables import DemandPartnerRow, OcpiInboxRow, SessionRow
from tests.e2e.conftest import ROAMLY, STROMNETZ, Stack
from tests.e2e.test_tokens import fresh_contract_id, register, rfid_uid

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def tap(stack: Stack, body: dict[str, Any], party: str = STROMNETZ.party) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stack.simulator_url, timeout=30) as simulator:
        return await simulator.post(f"/admin/cpos/{party}/tap", json=body)


async def settled(stack: Stack, reference: str) -> dict[str, Any]:
    """Our session on the reference (the id it has once the CPO's Session PUT arrived), when SETTLED."""
    for _ in range(100):
        known = await stack.http.get(f"/v1/sessions/{reference}", headers=stack.headers(ROAMLY.api_key))
        if known.status_code == HTTPStatus.OK:
            return await stack.wait_for(reference, SessionStage.SETTLED)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no session {reference}: the CPO's Session PUT was refused or never came")


async def test_a_tapped_card_charges_to_a_settled_session(stack: Stack) -> None:
    card = rfid_uid()
    await register(stack, card)
    reply = await tap(stack, {"evse_uid": "BER-ALEX-1", "uid": card.lower()})
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["status_code"], answer["allowed"]) == (1000, "ALLOWED")
    reference = answer["authorization_reference"]
    assert answer["session_id"] not in (None, reference)  # the CPO's own session id
    session = await settled(stack, reference)  # our session id is the reference
    assert (session["cpo_id"], session["currency"]) == (STROMNETZ.id, "EUR")
    assert session["evse_id"] == "DE*STN*E3001"


def cdr_answers(stack: Stack, session_id: str) -> list[tuple[str, int]]:
    """What each CDR the CPO sent for the session was answered, in order."""
    with stack.writes() as db:
        rows = db.scalars(
            select(OcpiInboxRow)
            .where(OcpiInboxRow.our_session_id == session_id, OcpiInboxRow.kind == "CDR")
            .order_by(OcpiInboxRow.key)
        )
        return [(row.outcome, row.status_code) for row in rows]


async def tap_until_its_cdr_is_answered(stack: Stack, card: str) -> str:
    """A tap at BER-ALEX-1, allowed; waits until the CPO's CDR of the session got a first answer. Returns the
    authorisation reference, the session's id."""
    answer = (await tap(stack, {"evse_uid": "BER-ALEX-1", "uid": card})).json()
    assert (answer["status_code"], answer["allowed"]) == (1000, "ALLOWED"), answer
    reference: str = answer["authorization_reference"]
    for _ in range(300):
        if cdr_answers(stack, reference):
            break
        await asyncio.sleep(0.1)
    return reference


async def test_a_cdr_before_the_tapped_sessions_authorisation_is_asked_again_and_settles(stack: Stack) -> None:
    """The session of a tap learns its EVSE and tariff when the worker authorises it; a CDR that comes first
    (a busy or stopped worker) is answered 503 with Retry-After, not refused, and settles once sent again."""
    card = rfid_uid()
    await register(stack, card)
    await stack.stop_worker()
    try:
        reference = await tap_until_its_cdr_is_answered(stack, card)
        early = cdr_answers(stack, reference)
        assert early, "the CPO sent no CDR"
        assert set(early) == {("EARLY", OcpiStatus.SERVER_ERROR)}, early
    finally:
        await stack.start_worker()
    session = await settled(stack, reference)
    assert (session["evse_id"], session["currency"]) == ("DE*STN*E3001", "EUR")
    answers = cdr_answers(stack, reference)
    assert answers[-1] == ("ACCEPTED", OcpiStatus.SUCCESS), answers
    assert ("REJECTED", OcpiStatus.INVALID_PARAMETERS) not in answers


def set_active(stack: Stack, partner_id: str, active: bool) -> None:
    with stack.writes.begin() as db:
        db.get_one(DemandPartnerRow, partner_id).active = active


async def test_a_cdr_of_a_tapped_session_whose_authorisation_was_refused_is_refused_saying_so(stack: Stack) -> None:
    """Allowed at the charger, refused when the worker authorises it (the partner was deactivated between):
    the session ends REJECTED without an EVSE of ours, and its CDR, asked again until then, is refused as
    the CDR of a session never authorised."""
    card = rfid_uid()
    await register(stack, card)
    await stack.stop_worker()
    try:
        reference = await tap_until_its_cdr_is_answered(stack, card)
        assert cdr_answers(stack, reference), "the CPO sent no CDR"
        set_active(stack, ROAMLY.id, False)
    finally:
        await stack.start_worker()
    try:
        for _ in range(300):
            if cdr_answers(stack, reference)[-1][0] == "REJECTED":
                break
            await asyncio.sleep(0.1)
        with stack.writes() as db:
            session = db.get_one(SessionRow, reference)
            assert (session.stage, session.evse_uid) == (SessionStage.REJECTED, None)
            last = db.scalars(
                select(OcpiInboxRow)
                .where(OcpiInboxRow.our_session_id == reference, OcpiInboxRow.kind == "CDR")
                .order_by(OcpiInboxRow.key.desc())
            ).first()
        assert last is not None
        assert (last.outcome, last.status_code) == ("REJECTED", OcpiStatus.INVALID_PARAMETERS)
        assert last.message == f"session {reference} was never authorised (REJECTED): no CDR settles it"
    finally:
        set_active(stack, ROAMLY.id, True)


async def test_a_car_plugs_and_charges_on_its_contract_id(stack: Stack) -> None:
    contract = fresh_contract_id()
    await register(stack, rfid_uid(), contract_id=contract)
    reply = await tap(
        stack, {"evse_id": "DE*STN*E3001", "uid": contract + emaid_check_character(contract), "type": "OTHER"}
    )
    answer = reply.json()
    assert (answer["status_code"], answer["allowed"]) == (1000, "ALLOWED"), answer
    await settled(stack, answer["authorization_reference"])


async def test_a_blocked_or_unknown_token_is_refused_and_starts_nothing(stack: Stack) -> None:
    blocked = rfid_uid()
    await register(stack, blocked, valid=False)
    refused = (await tap(stack, {"evse_uid": "BER-ALEX-1", "uid": blocked})).json()
    assert (refused["status_code"], refused["allowed"]) == (1000, "BLOCKED")
    assert (refused["session_id"], refused["authorization_reference"]) == (None, None)

    unknown = (await tap(stack, {"evse_uid": "BER-ALEX-1", "uid": rfid_uid()})).json()
    assert (unknown["status_code"], unknown["allowed"], unknown["session_id"]) == (2004, None, None)

    no_such_evse = await tap(stack, {"evse_uid": "NO-SUCH-EVSE", "uid": blocked})
    assert no_such_evse.status_code == 404
    both_named = await tap(stack, {"evse_uid": "BER-ALEX-1", "evse_id": "DE*STN*E3001", "uid": blocked})
    assert both_named.status_code == 422
    assert (await tap(stack, {"evse_uid": "BER-ALEX-1", "uid": blocked}, party="xx-nop")).status_code == 404


async def test_the_demos_drivers_tap_and_the_blocked_card_makes_no_session(stack: Stack) -> None:
    drivers = taps()
    await drive(stack.api_url, stack.simulator_url, drivers, show_progress=False)
    outcomes = {(s.label, s.outcome) for s in drivers}
    assert all(s.outcome == s.expected for s in drivers), outcomes
    assert sum(1 for s in drivers if s.outcome == SessionStage.SETTLED) == len(drivers) - 1
    blocked = next(s for s in drivers if s.expected == AllowedType.BLOCKED)
    assert (blocked.id, blocked.detail) == ("", {})
    car = next(s for s in drivers if s.tap is not None and s.tap.token_type == "OTHER")
    # Read with its partner's key: the car's contract is Roamly's.
    assert (car.partner_id, car.stage) == ("dp-roamly", SessionStage.SETTLED)
