"""Stages 5 to 8 of a session in one local activity (``settle_session``): the happy path clears, converts,
invoices, books and records SETTLED in one transaction; running it again books nothing more; a refusal
leaves nothing of it behind, and the stepwise path then says and parks what refused. Real Temporal dev
server, API, simulated CPOs and database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ApplicationError

from activities.settlement import SettlementActivities
from adapters.einvoice.issue import validated_xml
from cli.actions import LOCAL_ACTIVITY_MARKER
from config.settings import Settings, platform_einvoice_details, platform_party
from domain.einvoice.issuing import EInvoiceIssuing
from domain.sessions.lifecycle import SessionStage
from messages.sessions import ClearingInput
from persistence import ledger
from persistence.tables import (
    ClearingRow,
    FxConversionRow,
    InvoiceLineRow,
    LedgerEntryRow,
    SessionRow,
)
from persistence.vat_rates import vat_rate_table
from tests.e2e.conftest import Stack
from tests.e2e.test_settlement import last_numbers, parked_settlement, partner, postings

pytestmark = pytest.mark.asyncio(loop_scope="session")


def settlement_activities(stack: Stack) -> SettlementActivities:
    """The worker's settlement activities, as `build_worker` makes them for this stack."""
    settings = Settings()
    return SettlementActivities(
        stack.writes,
        fx_max_age=timedelta(days=3650),
        platform=platform_party(settings),
        vat_rates=vat_rate_table(),
        einvoicing=EInvoiceIssuing(platform_einvoice_details(settings), validated_xml),
    )


async def local_activities(stack: Stack, session_id: str) -> list[str]:
    """The types of the local activities the session's history records, in order."""
    history = await stack.handle(session_id).fetch_history()
    return [
        json.loads(event.marker_recorded_event_attributes.details["data"].payloads[0].data)["activity_type"]
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    ]


def counts(stack: Stack, session_id: str) -> dict[str, int]:
    """The session's rows of each kind stages 5 to 8 write."""
    with stack.writes() as db:
        return {
            table.__name__: db.scalar(select(func.count()).select_from(table).where(table.session_id == session_id))
            or 0
            for table in (ClearingRow, FxConversionRow, InvoiceLineRow)
        } | {
            "ledger entries": db.scalar(
                select(func.count()).where(LedgerEntryRow.idempotency_key == f"session-{session_id}:settlement")
            )
            or 0
        }


async def test_a_session_is_settled_and_recorded_in_one_local_activity_which_books_nothing_when_run_again(
    stack: Stack,
) -> None:
    payer = partner(stack, "GBP")  # converted: every step of 5 to 8 has work to do
    session_id = await stack.start("DE*STN*E3001", "driver-gbp-one-step", api_key=payer.api_key)
    await stack.wait_for(session_id, SessionStage.SETTLED, api_key=payer.api_key)
    assert await local_activities(stack, session_id) == ["authorise_session", "send_start_command", "settle_session"]
    with stack.writes() as db:
        row = db.get_one(SessionRow, session_id)
        assert (row.stage, row.needs_attention, row.error_type, row.reason) == ("SETTLED", False, None, None)
        assert row.cdr_key is not None
    once = counts(stack, session_id)
    assert (once["ClearingRow"], once["FxConversionRow"], once["ledger entries"]) == (1, 1, 1)
    assert once["InvoiceLineRow"] > 0  # the self-billed invoice's and the partner's
    booked, numbers = postings(stack, session_id), last_numbers(stack)
    result = await stack.result(session_id)

    # Run again (a retry after a lost reply): the same answer, from what is stored; nothing new.
    again = settlement_activities(stack).settle_session(ClearingInput(session_id=session_id, cdr_key=row.cdr_key))
    assert (again.clearing, again.fx, again.settlement) == (result.clearing, result.fx, result.settlement)
    assert again.settlement.billing_currency == "GBP"
    assert counts(stack, session_id) == once
    assert postings(stack, session_id) == booked
    assert last_numbers(stack) == numbers  # no invoice number burnt


async def test_a_refused_settlement_keeps_nothing_of_the_one_step_and_parks_step_by_step(stack: Stack) -> None:
    shilling = partner(stack, "KES")  # the ECB publishes no EUR/KES reference rate, and no test stores one
    session_id = await stack.start("DE*STN*E3001", "driver-kes-one-step", api_key=shilling.api_key)
    parked = await parked_settlement(stack, session_id, shilling)
    assert parked["reason"].startswith("settlement stopped (FxRateMissing): ")
    # Refused as a whole, then cleared and converted step by step, where the refusal parks it.
    steps = await local_activities(stack, session_id)
    assert steps[2:] == ["settle_session", "clear_session", "convert_to_billing_currency", "record_stage"]
    assert counts(stack, session_id) == {
        "ClearingRow": 1,  # the stepwise clearing's
        "FxConversionRow": 0,
        "InvoiceLineRow": 0,
        "ledger entries": 0,
    }

    # The one step again, still without a rate: refused, and the session, its books and numbers stay as they are.
    numbers = last_numbers(stack)
    with stack.writes() as db:
        cdr_key = db.get_one(SessionRow, session_id).cdr_key
    assert cdr_key is not None
    with pytest.raises(ApplicationError) as refused:
        settlement_activities(stack).settle_session(ClearingInput(session_id=session_id, cdr_key=cdr_key))
    assert (refused.value.type, refused.value.non_retryable) == ("FxRateMissing", True)
    assert counts(stack, session_id)["FxConversionRow"] == 0
    assert last_numbers(stack) == numbers
    with stack.writes() as db:
        row = db.get_one(SessionRow, session_id)
        assert (row.stage, row.needs_attention, row.error_type) == ("CLEARED", True, "FxRateMissing")
        assert ledger.entry_postings(db, f"session-{session_id}:settlement") is None
