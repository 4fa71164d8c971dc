"""Sessions end to end: the API, the workflow on a real Temporal server, the CPO simulator over OCPI,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from cli.actions import PATCH_MARKER, count_actions
from domain.sessions.lifecycle import SessionStage
from messages.workflow_ids import session_workflow_id
from persistence.tables import CdrRow, OcpiInboxRow, SessionRow
from tests.e2e.conftest import MOTORBRIT, ROAMLY, TIMEOUTS, Stack
from workflows import search_attributes as sa

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_session_runs_from_request_to_cdr(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "driver-happy")
    session = await stack.wait_for(session_id, SessionStage.SETTLED)
    assert session["cpo_id"] == "cpo-de-stn"
    assert session["country"] == "DE"
    assert session["currency"] == "EUR"
    assert session["cdr_id"] is not None
    assert session["cpo_session_id"] is not None
    assert Decimal(session["kwh"]) > 0
    assert session["needs_attention"] is False
    assert session["started_at"] is not None
    assert session["ended_at"] is not None
    result = await stack.result(session_id)
    assert result.stage == SessionStage.SETTLED
    assert result.cdr_id == session["cdr_id"]
    # Stage 5: rated at the official tariff in force at start; the simulated CPO agrees to the cent.
    clearing = session["clearing"]
    assert clearing["currency"] == "EUR"
    assert clearing["discrepancy"] is False
    assert clearing["total_cost"] == clearing["cpo_claimed"]
    assert Decimal(clearing["total_cost"]["excl_vat"]) > 0
    assert Decimal(clearing["rating"]["total_energy"]) == Decimal(session["kwh"])
    assert {line["dimension"] for line in clearing["rating"]["breakdown"]} >= {"ENERGY"}
    assert result.clearing is not None
    assert result.clearing.total_excl_vat == Decimal(clearing["total_cost"]["excl_vat"])

    description = await stack.handle(session_id).describe()
    attributes = description.typed_search_attributes
    assert attributes.get(sa.SESSION_STAGE) == "SETTLED"
    assert attributes.get(sa.CPO) == "cpo-de-stn"
    assert attributes.get(sa.CHARGER_COUNTRY) == "DE"
    assert attributes.get(sa.DEMAND_PARTNER) == ROAMLY.id
    assert attributes.get(sa.NEEDS_ATTENTION) is False

    with stack.writes() as db:
        row = db.get_one(SessionRow, session_id)
        assert row.stage == "SETTLED"
        cdr = db.get_one(CdrRow, row.cdr_key)
        assert cdr.total_energy_kwh == Decimal(session["kwh"])
        kinds = db.scalars(select(OcpiInboxRow.kind).where(OcpiInboxRow.our_session_id == session_id)).all()
        assert {"SESSION_PUT", "SESSION_PATCH", "CDR"} <= set(kinds)


async def test_the_happy_path_stays_within_the_billable_action_budget(stack: Stack) -> None:
    session_id = await stack.start("CH*VSW*E1001", "driver-budget")
    await stack.wait_for(session_id, SessionStage.SETTLED)
    history = await stack.handle(session_id).fetch_history()
    actions = count_actions(history)
    assert actions["start"] == 1
    assert actions["signal"] <= 3  # ACTIVE, COMPLETED, CDR: meter PATCHes never become signals
    assert "activity" not in actions  # every step here is a local activity
    assert sum(actions.values()) <= 12, actions


async def test_ops_find_sessions_by_cpo_and_stage_in_visibility(stack: Stack) -> None:
    session_id = await stack.start("FR*BRN*E5001", "driver-visible")
    await stack.wait_for(session_id, SessionStage.SETTLED)
    query = f'Cpo="cpo-fr-brn" AND SessionStage="SETTLED" AND WorkflowId="{session_workflow_id(session_id)}"'
    for _ in range(100):  # visibility is eventually consistent
        found = [w.id async for w in stack.temporal.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    assert found == [session_workflow_id(session_id)]


async def test_the_same_idempotency_key_never_makes_two_sessions(stack: Stack) -> None:
    # A key of this run's own: session ids derive from partner and key, and both databases' runs share one
    # Temporal server, where a finished workflow's id is never started again.
    key = f"idem-{uuid.uuid4().hex[:8]}"
    first = await stack.start("DE*STN*E3002", "driver-idem", key=key)
    second = await stack.start("DE*STN*E3002", "driver-idem", key=key)
    assert first == second
    reply = await stack.http.post(
        "/v1/sessions",
        json={"evse_id": "DE*STN*E3002", "driver_reference": "driver-idem"},
        headers=stack.headers(**{"Idempotency-Key": key}),
    )
    assert reply.headers["Idempotent-Replayed"] == "true"
    conflict = await stack.http.post(
        "/v1/sessions",
        json={"evse_id": "DE*STN*E3001", "driver_reference": "driver-idem"},
        headers=stack.headers(**{"Idempotency-Key": key}),
    )
    assert conflict.status_code == 409
    await stack.wait_for(first, SessionStage.SETTLED)
    # The key belongs to the partner: another partner's identical key is another session.
    other = await stack.start("DE*STN*E3002", "driver-idem", api_key=MOTORBRIT.api_key, key=key)
    assert other != first
    with stack.writes() as db:
        assert len(db.scalars(select(SessionRow).where(SessionRow.idempotency_key == key)).all()) == 2
    await stack.wait_for(other, SessionStage.SETTLED, api_key=MOTORBRIT.api_key)


async def test_a_retried_start_after_the_session_finished_returns_it(stack: Stack) -> None:
    key = f"idem-late-{uuid.uuid4().hex[:8]}"
    first = await stack.start("DE*STN*E3002", "driver-late-retry", key=key)
    await stack.wait_for(first, SessionStage.SETTLED)
    again = await stack.start("DE*STN*E3002", "driver-late-retry", key=key)
    assert again == first
    assert (await stack.get(first))["stage"] == "SETTLED"


# An inactive partner no longer gets this far: its key is refused at authentication
# (tests/e2e/test_partner_api.py); the workflow's own DEMAND_PARTNER_INACTIVE check replays in histories.
@pytest.mark.parametrize(("evse_id", "api_key", "reason"), [("XX*NOPE*E0000", ROAMLY.api_key, "UNKNOWN_EVSE")])
async def test_a_refused_authorisation_ends_the_session_with_its_reason(
    stack: Stack, evse_id: str, api_key: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="temporalio.activity")
    session_id = await stack.start(evse_id, "driver-refused", api_key=api_key)
    result = await stack.result(session_id)
    # An outcome, not an incident: the worker logs the refusal at DEBUG, not as a WARNING with its traceback.
    failed = [
        record.levelno
        for record in caplog.records
        if record.name == "temporalio.activity"
        and record.getMessage().startswith("Completing activity as failed")
        and session_workflow_id(session_id) in record.getMessage()
    ]
    assert failed == [logging.DEBUG]
    assert result.stage == SessionStage.REJECTED
    assert reason in (result.reason or "")
    session = await stack.get(session_id, api_key)
    assert session["stage"] == "REJECTED"
    assert reason in session["reason"]
    with stack.writes() as db:
        assert db.scalars(select(OcpiInboxRow).where(OcpiInboxRow.our_session_id == session_id)).all() == []


@pytest.mark.parametrize(
    ("driver", "reason"),
    [
        ("sim-reject-1", "the CPO refused START_SESSION: REJECTED"),
        ("sim-fail-1", "the charge point reported FAILED"),
        ("sim-no-show-1", f"did not confirm the start within {TIMEOUTS.start_confirmation_s} s"),
    ],
)
async def test_a_start_that_fails_ends_the_session_as_start_failed(stack: Stack, driver: str, reason: str) -> None:
    session_id = await stack.start("CH*VSW*E2001", driver)
    result = await stack.result(session_id)
    assert result.stage == SessionStage.START_FAILED
    assert reason in (result.reason or "")
    assert (await stack.get(session_id))["stage"] == "START_FAILED"


async def test_the_demand_partner_stops_a_session(stack: Stack) -> None:
    session_id = await stack.start("FR*BRN*E5002", "sim-until-stop-1")
    await stack.wait_for(session_id, SessionStage.CHARGING)
    reply = await stack.http.post(f"/v1/sessions/{session_id}/stop", headers=stack.headers())
    assert reply.status_code == 202, reply.text
    assert reply.json()["stop_requested"] is True
    session = await stack.wait_for(session_id, SessionStage.SETTLED)
    assert Decimal(session["kwh"]) > 0
    # A retried stop is the same stop (one update id per session), answered the same way.
    again = await stack.http.post(f"/v1/sessions/{session_id}/stop", headers=stack.headers())
    assert again.status_code == 202


async def test_a_session_that_already_ended_cannot_be_stopped(stack: Stack) -> None:
    session_id = await stack.start("FR*BRN*E5002", "driver-ended")
    await stack.wait_for(session_id, SessionStage.SETTLED)
    reply = await stack.http.post(f"/v1/sessions/{session_id}/stop", headers=stack.headers())
    assert reply.status_code == 409
    assert reply.json()["detail"]


async def test_a_cpo_that_declares_the_session_invalid_ends_it_unbilled(stack: Stack) -> None:
    session_id = await stack.start("FR*BRN*E6001", "sim-invalid-1")
    result = await stack.result(session_id)
    assert result.stage == SessionStage.INVALID
    assert result.cdr_id is None


async def test_a_partner_never_sees_another_partners_session(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E4001", "driver-private")
    other = stack.headers(MOTORBRIT.api_key)
    assert (await stack.http.get(f"/v1/sessions/{session_id}", headers=other)).status_code == 404
    assert (await stack.http.post(f"/v1/sessions/{session_id}/stop", headers=other)).status_code == 404
    listed = (await stack.http.get("/v1/sessions?limit=200", headers=other)).json()["data"]
    assert session_id not in {s["id"] for s in listed}
    await stack.wait_for(session_id, SessionStage.SETTLED)


async def test_sessions_list_pages_and_filters(stack: Stack) -> None:
    ids = [await stack.start("CH*VSW*E1002", f"driver-page-{i}", api_key=MOTORBRIT.api_key) for i in range(5)]
    for session_id in ids:
        await stack.wait_for(session_id, SessionStage.SETTLED, api_key=MOTORBRIT.api_key)
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/sessions?limit=2&evse_id=CH*VSW*E1002" + (f"&cursor={cursor}" if cursor else "")
        page = (await stack.http.get(url, headers=stack.headers(MOTORBRIT.api_key))).json()
        assert len(page["data"]) <= 2
        seen += [s["id"] for s in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    finished = (
        await stack.http.get("/v1/sessions?stage=SETTLED&limit=200", headers=stack.headers(MOTORBRIT.api_key))
    ).json()
    assert set(ids) <= {s["id"] for s in finished["data"]}
    assert all(s["stage"] == "SETTLED" for s in finished["data"])
    bad = await stack.http.get("/v1/sessions?cursor=not-ours", headers=stack.headers(MOTORBRIT.api_key))
    assert bad.status_code == 400


async def test_a_session_survives_a_worker_restart(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-until-stop-restart")
    await stack.wait_for(session_id, SessionStage.CHARGING)
    await stack.stop_worker()
    # With no worker the stop is accepted by the server only once a worker runs the update again.
    await stack.start_worker()
    reply = await stack.http.post(f"/v1/sessions/{session_id}/stop", headers=stack.headers())
    assert reply.status_code == 202, reply.text
    await stack.wait_for(session_id, SessionStage.SETTLED)
    result = await stack.result(session_id)
    assert result.stage == SessionStage.SETTLED


async def test_a_session_requested_while_no_worker_runs_starts_when_one_returns(stack: Stack) -> None:
    await stack.stop_worker()
    try:
        session_id = await stack.start("CH*VSW*E1001", "driver-no-worker")
        await asyncio.sleep(0.5)
        assert (await stack.get(session_id))["stage"] == "STARTING"
    finally:
        await stack.start_worker()
    await stack.wait_for(session_id, SessionStage.SETTLED)


async def test_a_cpo_claim_beyond_tolerance_is_cleared_at_the_official_price_and_flagged(stack: Stack) -> None:
    session_id = await stack.start("CH*VSW*E1002", "sim-overcharge-1")
    result = await stack.result(session_id)
    assert result.stage == SessionStage.SETTLED
    session = await stack.get(session_id)
    clearing = session["clearing"]
    assert clearing["discrepancy"] is True
    assert clearing["currency"] == "CHF"
    official, claimed = Decimal(clearing["total_cost"]["excl_vat"]), Decimal(clearing["cpo_claimed"]["excl_vat"])
    assert claimed > official > 0
    assert session["needs_attention"] is True
    assert session["reason"].startswith("price discrepancy: CPO claims")
    description = await stack.handle(session_id).describe()
    assert description.typed_search_attributes.get(sa.NEEDS_ATTENTION) is True
    assert description.typed_search_attributes.get(sa.ERROR_TYPE) == "PriceDiscrepancy"
    # Started with its patches (patched_from_start): flagging it asked workflow.patched nothing, and cost nothing.
    history = await stack.handle(session_id).fetch_history()
    assert [e for e in history.events if e.marker_recorded_event_attributes.marker_name == PATCH_MARKER] == []
