"""The demo's payout funding: one demo CPO (Stromnetz, DE) is paid when paid, set as ops would with
``partners cpo-terms --cpo cpo-de-stn --payout-funding PAY_WHEN_PAID`` before the run's sessions start (in
the demo only: the catalogue and the tests keep its payouts guaranteed). Its first release by hand pays
nothing of sessions whose invoices are unpaid (AWAITING_COLLECTION); once the partners' payments are
imported, the demo releases it again (``networkcore payouts release``) and it is paid for the sessions
whose invoices are paid in full. The others' payees are released as before.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from adapters.temporal_client import connect_temporal
from config.settings import Settings
from domain.money import from_minor
from domain.payouts.funding import FundingMode, describe_waiting
from messages.payouts import PayoutBatchState
from persistence.db import SessionFactory, open_database
from services import cpo_onboarding
from services.cpo_onboarding import CpoCompany, CpoTerms
from services.payouts import Payouts, payout_report, release_now

FUNDED_CPO = "cpo-de-stn"
PAYEE = f"cpo:{FUNDED_CPO}"


def pay_when_paid(writes: SessionFactory, *, now: datetime) -> None:
    """The CPO's contract says PAY_WHEN_PAID (a new version from ``now`` only when it did not)."""
    with writes.begin() as db:
        terms = CpoTerms(payout_funding=FundingMode.PAY_WHEN_PAID.value)
        cpo_onboarding.set_cpo_terms(db, FUNDED_CPO, CpoCompany(), terms, now=now)


async def release(settings: Settings, writes: SessionFactory, payee: str | None = None) -> None:
    """Release every payee's payouts now (or one payee's), as ops can by hand, and release again those the
    bank rejected."""
    client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
    rounds = await release_now(
        client, writes, task_queue=settings.task_queue, poll_seconds=settings.payout_poll_s, payee=payee
    )
    for bounced in [r for r in rounds if r.view.last_batch and r.view.last_batch.state == PayoutBatchState.REJECTED]:
        await release_now(
            client, writes, task_queue=settings.task_queue, poll_seconds=settings.payout_poll_s, payee=bounced.payee
        )


@dataclass(frozen=True, slots=True)
class FundingView:
    """The CPO's position in its payout currency at one moment."""

    currency: str
    paid: str
    in_transit: str
    payable: str
    waiting: str  # what of the payable waits and why; "" when nothing does


@dataclass
class RunFunding:
    cpo: str = FUNDED_CPO
    before: FundingView | None = None  # after its first release, before the partners paid
    after: FundingView | None = None  # after the import and its release again
    released: list[str] = field(default_factory=list)  # the batches of the release again


def funding_view(report: Payouts) -> FundingView | None:
    for p in report.positions:
        if p.payee == PAYEE:
            return FundingView(
                p.currency,
                str(from_minor(p.paid_minor, p.currency)),
                str(from_minor(p.pending_minor, p.currency)),
                str(from_minor(p.payable_minor, p.currency)),
                describe_waiting(report.waiting_of(p), p.currency),
            )
    return None


def fund(settings: Settings, before: Payouts) -> RunFunding:
    """Release the CPO again now that its partners' payments are imported; its position before and after."""
    run = RunFunding(before=funding_view(before))
    started = datetime.now(UTC)
    with open_database(settings.database_url) as database:
        asyncio.run(release(settings, database.writes, payee=PAYEE))
        after = payout_report(database.reads, since=started)
    run.after = funding_view(after)
    run.released = [
        f"{b.message_id}: {from_minor(b.amount_minor, b.currency)} {b.currency}, {b.sessions} session(s), {b.state}"
        for b in after.batches
        if b.payee == PAYEE
    ]
    return run


def print_funding(console: Console, run: RunFunding) -> None:
    table = Table(title=f"Funding payouts: {run.cpo} is paid when its partners paid (PAY_WHEN_PAID)")
    for column in ("", "paid", "in transit", "payable", "of it waiting"):
        table.add_column(column, justify="left" if column in ("", "of it waiting") else "right")
    for label, view in (
        ("released before the partners paid", run.before),
        ("released again after the statements' import", run.after),
    ):
        if view is not None:
            c = view.currency
            table.add_row(
                label, f"{view.paid} {c}", f"{view.in_transit} {c}", f"{view.payable} {c}", view.waiting or "nothing"
            )
    console.print(table)
    for line in run.released or ["nothing released: no session of it is paid for yet"]:
        console.print(f"  {line}", soft_wrap=True)
