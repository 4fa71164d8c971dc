"""Funding payouts end to end: a demo CPO paid pay-when-paid. Its payout workflow leaves a settled
session's payable waiting (AWAITING_COLLECTION, said in the workflow's note and the payout report) until
the demand partner's payment of the session's invoice is imported from a camt.054, and the next release
pays it through the simulated bank. Real Temporal dev server, API, simulated CPO and database."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.service import RPCError

from config.settings import Settings
from domain.invoicing.creditor_reference import creditor_reference
from domain.payouts.funding import WaitReason
from messages.workflow_ids import payout_workflow_id
from persistence.contract_terms import latest_terms_by_party
from persistence.contracts import ensure_contract
from persistence.ledger_check import check_ledger
from persistence.tables import PayoutBatchRow, PayoutItemRow
from services import bank
from services.payouts import payout_report
from tests.camt import Ntry, Tx, camt054
from tests.e2e.conftest import Stack
from tests.e2e.test_payouts import payee_partner, release
from tests.e2e.test_settlement import settle

pytestmark = pytest.mark.asyncio(loop_scope="session")

CPO_ID = "cpo-de-stn"  # the demo CPO of DE*STN*E3001, paid in EUR
PAYEE = f"cpo:{CPO_ID}"


def set_cpo_terms(stack: Stack, terms: dict[str, object]) -> None:
    with stack.writes.begin() as db:
        now = datetime.now(UTC)
        ensure_contract(db, "CPO", CPO_ID, terms, now=now, first_from=now)


def session_item(stack: Stack, session_id: str) -> PayoutItemRow:
    with stack.writes() as db:
        return db.scalars(
            select(PayoutItemRow).where(PayoutItemRow.session_id == session_id, PayoutItemRow.payee == PAYEE)
        ).one()


async def on_this_stack(stack: Stack) -> None:
    """The demo CPO's payout workflow of another stack (the other database's run shares the Temporal server)
    polls a task queue nobody serves here: end it, so that this stack's starts its own."""
    with contextlib.suppress(RPCError):
        await stack.temporal.get_workflow_handle(payout_workflow_id(PAYEE, "EUR")).terminate(reason="test: new stack")


async def test_a_pay_when_paid_cpo_is_paid_once_the_partner_pays_the_sessions_invoice(stack: Stack) -> None:
    await on_this_stack(stack)
    with stack.writes() as db:
        original = latest_terms_by_party(db, "CPO")[CPO_ID]
    # Without its 50.00 minimum, so that one session's payable is paid on its own.
    payout = {"schedule": "DAILY", "time": "06:00"}
    try:
        # What other tests left queued for this CPO (a correction's reversal, say) is paid first, guaranteed,
        # so that only this test's session waits and is paid.
        set_cpo_terms(stack, original | {"payout": payout})
        await release(stack, PAYEE, "EUR")
        set_cpo_terms(stack, original | {"payout_funding": {"mode": "PAY_WHEN_PAID"}, "payout": payout})
        who = payee_partner(stack, "EUR")
        session = await settle(stack, "DE*STN*E3001", who)
        item = session_item(stack, session["id"])
        assert item.amount_minor > 0

        view = await release(stack, PAYEE, "EUR")
        assert session_item(stack, session["id"]).batch_key is None
        assert view.last_note is not None
        assert "waits (AWAITING_COLLECTION" in view.last_note
        waiting = payout_report(stack.writes).waiting[(PAYEE, "EUR")]
        assert waiting[WaitReason.AWAITING_COLLECTION] >= item.amount_minor

        # The partner pays the session's invoice, quoting its reference; the bank notifies us (camt.054).
        billing = session["billing"]
        total = billing["total"]
        iban = Settings().platform_bank_accounts["EUR"]["iban"]
        paid = Tx(amount=total, scor=(creditor_reference(billing["invoice"]),))
        notification = camt054(
            iban, "EUR", [Ntry(total, uuid.uuid4().hex[:16], txs=(paid,))], message_id=f"NTF-{uuid.uuid4().hex[:12]}"
        )
        imported = bank.import_file(stack.writes, notification, "funding.camt054.xml", {iban: "EUR"})
        assert (imported.state, imported.by_outcome) == ("BOOKED", {"PARTNER": 1})

        view = await release(stack, PAYEE, "EUR")
        batch_key = session_item(stack, session["id"]).batch_key
        assert batch_key is not None, view
        with stack.writes() as db:
            batch = db.get_one(PayoutBatchRow, batch_key)
            assert (batch.state, batch.payee, batch.currency) == ("PAID", PAYEE, "EUR")
            assert batch.amount_minor >= item.amount_minor
            assert Decimal(total) > 0
    finally:
        set_cpo_terms(stack, original)
    with stack.writes() as db:
        assert check_ledger(db).ok, check_ledger(db).problems
