"""Payouts as payees and operators see them (the batches and every payee's reconciled position), and
releasing them now, as ops can by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from temporalio.client import Client

from activities.payouts import start_payout_workflows
from domain.payouts.batches import Payee, PayeeKind
from domain.payouts.funding import WaitReason
from messages.payouts import PayoutView, ReleaseNow
from messages.workflow_ids import payout_workflow_id
from persistence import payout_funding, payout_reads, payouts
from persistence.db import SessionFactory
from persistence.payout_reads import PayoutBatchView
from persistence.payout_reconciliation import PayeePosition, payee_positions
from workflows.payouts import PayoutWorkflow


@dataclass(frozen=True, slots=True)
class Payouts:
    batches: list[PayoutBatchView]
    positions: list[PayeePosition]  # paid + in transit + payable = earned - netted, per payee and currency
    # Of the payable, what the next release would leave waiting for its funding, by (payee, currency) and
    # reason (``domain.payouts.funding``); payees with nothing waiting are left out.
    waiting: dict[tuple[str, str], dict[WaitReason, int]] = field(default_factory=dict)

    def waiting_of(self, position: PayeePosition) -> dict[WaitReason, int]:
        return self.waiting.get((position.payee, position.currency), {})


def partner_payouts(
    reads: SessionFactory, demand_partner_id: str, *, floors: Mapping[str, Decimal] | None = None
) -> Payouts:
    """The demand partner's payouts (its revenue share netted against what it owes), newest first, and
    what of it waits (the bank accounts' ``floors``: the settings')."""
    payee = Payee(PayeeKind.DEMAND_PARTNER, demand_partner_id)
    with reads() as db:
        return Payouts(
            payout_reads.payee_batches(db, payee),
            payee_positions(db, payee=payee),
            payout_funding.waiting(db, floors or {}, payee=payee),
        )


def payout_report(
    reads: SessionFactory, *, since: datetime | None = None, floors: Mapping[str, Decimal] | None = None
) -> Payouts:
    """Every batch (or those created since ``since``), oldest first, every payee's position and what of it
    waits (the bank accounts' ``floors``: the settings')."""
    with reads() as db:
        return Payouts(
            payout_reads.all_batches(db, since=since), payee_positions(db), payout_funding.waiting(db, floors or {})
        )


@dataclass(frozen=True)
class Released:
    payee: str
    currency: str
    view: PayoutView


async def release_now(
    client: Client,
    writes: SessionFactory,
    *,
    task_queue: str,
    poll_seconds: int,
    payee: str | None = None,
    timeout_s: float = 60,
) -> list[Released]:
    """Release every payee's payouts now (or one payee's), as ops would by hand, and wait until each
    release has run and its batch has the rail's answer."""
    with writes() as db:
        wanted = [(p, c) for p, c in payouts.payees_with_items(db) if payee is None or str(p) == payee]
    await start_payout_workflows(client, wanted, task_queue=task_queue, poll_seconds=poll_seconds)
    handles = [client.get_workflow_handle(payout_workflow_id(str(p), c)) for p, c in wanted]
    before = [(await h.query(PayoutWorkflow.view)).releases for h in handles]
    for handle in handles:
        await handle.signal(PayoutWorkflow.release_now, ReleaseNow(requested_by="networkcore payouts release"))
    deadline = asyncio.get_running_loop().time() + timeout_s
    released: list[Released] = []
    for (who, currency), handle, count in zip(wanted, handles, before, strict=True):
        while True:
            view = await handle.query(PayoutWorkflow.view)
            if view.releases > count and view.open_batch is None:
                released.append(Released(str(who), currency, view))
                break
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{who} {currency} did not finish its release within {timeout_s:.0f} s: {view}")
            await asyncio.sleep(0.2)
    return released


def batches(reads: SessionFactory, payee: Payee | None = None) -> list[PayoutBatchView]:
    """Every batch, oldest first, or the payee's latest, newest first."""
    with reads() as db:
        return payout_reads.all_batches(db) if payee is None else payout_reads.payee_batches(db, payee)
