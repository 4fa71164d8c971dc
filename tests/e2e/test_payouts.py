"""Stage 9 end to end: settled sessions queue their payables, each payee's PayoutWorkflow nets, batches and
pays them through the simulated bank (pain.001 in, pain.002 out), and the ledger follows the bank's
answer. Real Temporal dev server, API, simulated CPOs and database; amounts to the cent."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from schwifty import IBAN
from sqlalchemy import select
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from adapters.iso20022 import validate
from cli.replay import fetch_history, replay_history
from cli.seed import DemoPartner, ensure_demand_partner
from domain.partners import PostalAddress
from domain.payouts.batches import BANK, CASH_IN_TRANSIT
from messages.payouts import PayoutBatchState, PayoutInput, PayoutView, ReleaseNow
from messages.workflow_ids import payout_workflow_id
from persistence import ledger
from persistence.ledger_check import check_ledger
from persistence.parties import set_postal_address
from persistence.tables import DemandPartnerRow, PayoutBatchRow, PayoutItemRow
from tests.e2e.conftest import Stack
from tests.e2e.test_settlement import expected_split, minor, settle
from workers.main import ensure_payout_sweep_schedule
from workflows.payouts import PayoutWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

POLL_SECONDS = 1
NO_IBAN = ""
LEOPOLDSTRASSE = PostalAddress("Leopoldstrasse", "80802", "München", building_number="12")


def fresh_iban() -> str:
    """A valid German IBAN no other test pays to (the simulated bank plans rejections per account)."""
    return IBAN.generate("DE", bank_code="37040044", account_code=f"{uuid.uuid4().int % 10**10:010d}").compact


def payee_terms(currency: str, minimum: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "billing_currency": currency,
        "revenue_share": {"percent": "15", "basis": "COMMISSION"},
        "credit": {"limit": "1000.00", "session_cap": "80.00", "hold_days": 7},
        "payout": {"schedule": "DAILY", "time": "06:00", "minimum": minimum or {}},
    }


def payee_partner(
    stack: Stack,
    currency: str,
    *,
    iban: str | None = None,
    minimum: dict[str, str] | None = None,
    address: PostalAddress | None = LEOPOLDSTRASSE,
) -> DemoPartner:
    """A demand partner of the test's own, with a bank account, a postal address and a daily schedule
    (released by hand)."""
    suffix = uuid.uuid4().hex[:8]
    new = DemoPartner(
        f"dp-pay-{suffix}",
        f"Payee {suffix} GmbH",
        "DE",
        "DE281045677",
        currency,
        f"key-{suffix}",
        iban=fresh_iban() if iban is None else iban or None,
        address=address,
    )
    with stack.writes.begin() as db:
        ensure_demand_partner(db, new, payee_terms(currency, minimum), now=datetime.now(UTC))
    return new


def handle(stack: Stack, payee: str, currency: str) -> WorkflowHandle[PayoutWorkflow, None]:
    # get_workflow_handle_for's overloads are resolved differently from one mypy run to the next.
    return stack.temporal.get_workflow_handle(payout_workflow_id(payee, currency))


async def start_payouts(stack: Stack, payee: str, currency: str) -> WorkflowHandle[PayoutWorkflow, None]:
    return await stack.temporal.start_workflow(
        PayoutWorkflow.run,
        PayoutInput(payee=payee, currency=currency, poll_seconds=POLL_SECONDS),
        id=payout_workflow_id(payee, currency),
        task_queue=stack.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def release(stack: Stack, payee: str, currency: str, *, timeout_s: float = 30) -> PayoutView:
    """Ask for a release now and wait until it has run and its batch (if any) has the bank's final answer."""
    workflow = await start_payouts(stack, payee, currency)
    before = (await workflow.query(PayoutWorkflow.view)).releases
    await workflow.signal(PayoutWorkflow.release_now, ReleaseNow(requested_by="test"))
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        view = await workflow.query(PayoutWorkflow.view)
        if view.releases > before and view.open_batch is None and (view.needs_attention or view.next_release_at):
            return view
        assert asyncio.get_running_loop().time() < deadline, f"no release within {timeout_s} s: {view}"
        await asyncio.sleep(0.1)


def batches(stack: Stack, payee: str) -> list[PayoutBatchRow]:
    with stack.writes() as db:
        return list(
            db.scalars(select(PayoutBatchRow).where(PayoutBatchRow.payee == payee).order_by(PayoutBatchRow.key))
        )


def items(stack: Stack, payee: str) -> list[PayoutItemRow]:
    with stack.writes() as db:
        return list(db.scalars(select(PayoutItemRow).where(PayoutItemRow.payee == payee).order_by(PayoutItemRow.key)))


def balance(stack: Stack, account: str, currency: str) -> int:
    with stack.writes() as db:
        return ledger.account_balance(db, account, currency)


def share_minor(session: dict[str, Any]) -> int:
    """The partner's revenue share of a session, worked by hand from its cleared net (EUR cents)."""
    return minor(expected_split(Decimal(session["clearing"]["total_cost"]["excl_vat"]))["share"])


async def test_a_partners_revenue_share_is_paid_once_in_one_batch_through_the_bank(stack: Stack) -> None:
    # Billed in GBP at a German charger: its EUR share has no EUR receivable to net against.
    who = payee_partner(stack, "GBP")
    assert who.iban is not None
    payee = f"dp:{who.id}"
    sessions = [await settle(stack, "DE*STN*E3001", who) for _ in range(2)]
    earned = sum(share_minor(s) for s in sessions)
    assert earned > 0
    assert [(i.currency, i.batch_key) for i in items(stack, payee)] == [("EUR", None), ("EUR", None)]

    view = await release(stack, payee, "EUR")

    [batch] = batches(stack, payee)
    assert (batch.state, batch.amount_minor, batch.netted_minor, batch.currency) == ("PAID", earned, 0, "EUR")
    assert view.last_batch is not None
    assert view.last_batch.state == PayoutBatchState.PAID
    assert batch.status_code == "ACSC"
    validate(batch.document.encode())
    assert f"<IBAN>{who.iban}</IBAN>" in batch.document
    assert f'<InstdAmt Ccy="EUR">{Decimal(earned) / 100:.2f}</InstdAmt>' in batch.document
    assert {i.batch_key for i in items(stack, payee)} == {batch.key}
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == 0
    with stack.writes() as db:
        assert ledger.entry_postings(db, f"{batch.idempotency_key}:instructed") == sorted(
            [(f"{payee}:revenue_share_payable", "EUR", earned), (CASH_IN_TRANSIT, "EUR", -earned)]
        )
        assert ledger.entry_postings(db, f"{batch.idempotency_key}:paid") == sorted(
            [(CASH_IN_TRANSIT, "EUR", earned), (BANK, "EUR", -earned)]
        )
    [received] = [t for t in stack.bank.transfers() if t.message_id == batch.message_id]
    assert (received.amount_minor, received.currency, received.creditor_iban) == (earned, "EUR", who.iban)

    # The check reconciles the batches with the books: a paid batch said to be in flight, or a batch
    # claiming more than the ledger moved, is caught.
    with stack.writes() as db:
        db.get_one(PayoutBatchRow, batch.key).state = "SENT"
        db.flush()
        in_flight = check_ledger(db).problems
        db.rollback()
    assert f"batch {batch.message_id} (SENT): paid entry moved {earned}, expected None" in in_flight
    with stack.writes() as db:
        db.get_one(PayoutBatchRow, batch.key).amount_minor += 1
        db.flush()
        inflated = check_ledger(db).problems
        db.rollback()
    assert f"dp:{who.id} EUR: paid {earned + 1} + pending 0 + payable 0 != earned {earned} - netted 0" in inflated

    # Nothing new is due: a second release pays nothing and the bank sees nothing more.
    view = await release(stack, payee, "EUR")
    assert len(batches(stack, payee)) == 1
    assert view.last_note is not None
    assert view.last_note.startswith("nothing to pay")
    with stack.writes() as db:
        assert check_ledger(db).ok


async def test_what_a_partner_owes_is_netted_first_and_nothing_is_sent(stack: Stack) -> None:
    # Billed in EUR at a German charger: its EUR share is set off against its EUR receivable.
    who = payee_partner(stack, "EUR")
    payee = f"dp:{who.id}"
    session = await settle(stack, "DE*STN*E3001", who)
    share = share_minor(session)
    owed = balance(stack, f"{payee}:receivable", "EUR")
    assert owed == minor(Decimal(session["billing"]["total"]))

    view = await release(stack, payee, "EUR")

    assert batches(stack, payee) == []
    assert view.last_note == f"nothing to pay; {Decimal(share) / 100:.2f} EUR netted"
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == 0
    assert balance(stack, f"{payee}:receivable", "EUR") == owed - share
    with stack.writes() as db:
        assert check_ledger(db).ok


async def test_below_the_minimum_rolls_over_until_the_contract_allows_it(stack: Stack) -> None:
    who = payee_partner(stack, "GBP", minimum={"EUR": "100.00"})
    payee = f"dp:{who.id}"
    sessions = [await settle(stack, "DE*STN*E3001", who) for _ in range(2)]
    earned = sum(share_minor(s) for s in sessions)

    view = await release(stack, payee, "EUR")
    assert batches(stack, payee) == []
    assert view.last_note == f"{Decimal(earned) / 100:.2f} EUR is below the minimum of 100.00 EUR: rolled over"
    assert {i.batch_key for i in items(stack, payee)} == {None}
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == -earned

    # A new contract version lowers the minimum: the next release pays everything that rolled over.
    with stack.writes.begin() as db:
        ensure_demand_partner(db, who, payee_terms("GBP", {"EUR": "0.01"}), now=datetime.now(UTC))
    await release(stack, payee, "EUR")
    [batch] = batches(stack, payee)
    assert (batch.state, batch.amount_minor) == ("PAID", earned)
    assert {i.batch_key for i in items(stack, payee)} == {batch.key}


async def test_a_rejected_payout_returns_to_the_payable_and_the_next_release_pays_it(stack: Stack) -> None:
    who = payee_partner(stack, "GBP")
    assert who.iban is not None
    payee = f"dp:{who.id}"
    earned = share_minor(await settle(stack, "DE*STN*E3001", who))
    stack.bank.rejections[who.iban] = ["AC04"]  # the first transfer to this account bounces

    view = await release(stack, payee, "EUR")
    [rejected] = batches(stack, payee)
    assert (rejected.state, rejected.status_code, rejected.reason) == (
        "REJECTED",
        "RJCT",
        "AC04: closed account number",
    )
    assert view.last_note == "rejected by the bank (AC04: closed account number); the amount is payable again"
    assert "<GrpSts>RJCT</GrpSts>" in (rejected.status_report or "")
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == -earned
    assert {i.batch_key for i in items(stack, payee)} == {None}
    with stack.writes() as db:
        assert ledger.entry_postings(db, f"{rejected.idempotency_key}:returned") == sorted(
            [(f"{payee}:revenue_share_payable", "EUR", -earned), (CASH_IN_TRANSIT, "EUR", earned)]
        )

    await release(stack, payee, "EUR")
    rejected, paid = batches(stack, payee)
    assert (paid.state, paid.amount_minor) == ("PAID", earned)
    assert paid.message_id != rejected.message_id
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == 0
    to_payee = [t for t in stack.bank.transfers() if t.creditor_iban == who.iban]
    assert [(t.status_code, t.amount_minor) for t in to_payee] == [("RJCT", earned), ("ACSC", earned)]
    with stack.writes() as db:
        assert check_ledger(db).ok

    # The partner sees both, newest first, and where it stands; nobody else sees them.
    reply = await stack.http.get("/v1/payouts", headers=stack.headers(who.api_key))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    amount = f"{Decimal(earned) / 100:.2f}"
    assert [(p["id"], p["state"], p["amount"], p["sessions"], p["reason"]) for p in body["payouts"]] == [
        (paid.message_id, "PAID", amount, 1, None),
        (rejected.message_id, "REJECTED", amount, 0, "AC04: closed account number"),
    ]
    assert body["positions"] == [
        {
            "currency": "EUR",
            "earned": amount,
            "netted": "0.00",
            "paid": amount,
            "in_transit": "0.00",
            "payable": "0.00",
            "waiting": [],
        }
    ]
    # The workflow's live history replays against this code (what `networkcore replay` does).
    report = await replay_history(await fetch_history(stack.temporal, payout_workflow_id(payee, "EUR")))
    assert report.failure is None, report.describe(with_history=True)
    other = await stack.http.get("/v1/payouts", headers=stack.headers(payee_partner(stack, "EUR").api_key))
    assert other.json() == {"payouts": [], "positions": []}
    assert (await stack.http.get("/v1/payouts")).status_code == 401


async def test_missing_bank_details_flag_the_payee_and_a_fix_is_paid_at_the_next_release(stack: Stack) -> None:
    who = payee_partner(stack, "GBP", iban=NO_IBAN)
    payee = f"dp:{who.id}"
    earned = share_minor(await settle(stack, "DE*STN*E3001", who))

    view = await release(stack, payee, "EUR")
    assert view.needs_attention
    assert view.reason == f"BankDetailsInvalid: {who.name} has no IBAN on file"
    assert batches(stack, payee) == []
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == -earned

    with stack.writes.begin() as db:
        db.get_one(DemandPartnerRow, who.id).iban = "DE75512108001245126199"
    view = await release(stack, payee, "EUR")
    assert not view.needs_attention
    [batch] = batches(stack, payee)
    assert (batch.state, batch.amount_minor, batch.iban) == ("PAID", earned, "DE75512108001245126199")


async def test_a_payee_without_a_postal_address_is_flagged_and_paid_once_it_has_one(stack: Stack) -> None:
    who = payee_partner(stack, "GBP", address=None)  # invoiced in GBP: its EUR share is not netted
    payee = f"dp:{who.id}"
    earned = share_minor(await settle(stack, "DE*STN*E3001", who))

    view = await release(stack, payee, "EUR")
    assert view.needs_attention
    assert view.reason is not None
    assert view.reason.startswith(f"AddressMissing: {who.name} has no postal address (town and country) on file")
    assert batches(stack, payee) == []
    assert balance(stack, f"{payee}:revenue_share_payable", "EUR") == -earned

    with stack.writes.begin() as db:
        set_postal_address(db.get_one(DemandPartnerRow, who.id), LEOPOLDSTRASSE)
    view = await release(stack, payee, "EUR")
    assert not view.needs_attention
    [batch] = batches(stack, payee)
    assert (batch.state, batch.amount_minor) == ("PAID", earned)
    validate(batch.document.encode())
    creditor = batch.document.split("<Cdtr>", 1)[1].split("</Cdtr>", 1)[0]
    for element in ("<StrtNm>Leopoldstrasse</StrtNm>", "<BldgNb>12</BldgNb>", "<PstCd>80802</PstCd>"):
        assert element in creditor
    assert "<TwnNm>Munchen</TwnNm>" in creditor  # SEPA's character set
    assert "<Ctry>DE</Ctry>" in creditor


async def test_the_sweep_schedule_starts_a_payout_workflow_for_each_new_payee(stack: Stack) -> None:
    who = payee_partner(stack, "GBP")
    await settle(stack, "DE*STN*E3001", who)
    schedule_id = f"payout-sweep-{uuid.uuid4().hex[:8]}"
    schedule = await ensure_payout_sweep_schedule(
        stack.temporal,
        stack.task_queue,
        every=timedelta(hours=1),
        poll=timedelta(seconds=POLL_SECONDS),
        schedule_id=schedule_id,
    )
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            try:
                view = await handle(stack, f"dp:{who.id}", "EUR").query(PayoutWorkflow.view)
                if view.frequency is not None:  # the workflow has read its schedule (an activity after it starts)
                    break
            except RPCError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "the sweep started no payout workflow"
            await asyncio.sleep(0.2)
        assert (view.payee, view.currency, view.frequency) == (f"dp:{who.id}", "EUR", "DAILY")
        # Ops find it in the UI the way they find the partner's sessions.
        query = f'DemandPartner="{who.id}" AND WorkflowType="PayoutWorkflow"'
        while not [w.id async for w in stack.temporal.list_workflows(query)]:
            assert asyncio.get_running_loop().time() < deadline, f"nothing found by {query}"
            await asyncio.sleep(0.2)
        assert view.next_release_at is not None
        assert view.next_release_at.time() == time(6, 0)
    finally:
        await schedule.delete()
