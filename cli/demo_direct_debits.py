"""The demo's direct debits: one demand partner (Voyageo) is collected by SEPA Direct Debit under a B2B
mandate, set up as ops would (its contract says ``collection.method`` DIRECT_DEBIT with invoices due on
the day they are issued, then ``partners mandate add``), so its invoices fall due within the demo's scaled
days. The demo then runs the daily collection (``networkcore bank collect --date D``) for D = today,
today + 1, ... and imports the simulated bank's camt.054 of each day (``simulator/direct_debits.py``): the
first collection of the mandate is presented, credited, returned for insufficient funds (AM04) two days
later, re-presented once (attempt 2) and credited. The partner pays nothing by transfer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.bank import our_accounts
from cli.demo_collections import ImportedStatement, noon
from cli.seed import EPOCH, PARTNERS, DemoPartner, demand_partner_terms, ensure_demand_partner
from config.settings import DATA_DIR, Settings, platform_bank_accounts
from domain.collections.direct_debit import CollectionState, representation_allowed
from domain.money import from_minor
from persistence.db import SessionFactory, open_database
from persistence.direct_debits import CollectionLine
from services import bank, direct_debits
from simulator.direct_debits import RETURN_AFTER, SimulatedDirectDebitBank

DEBITED_PARTNER = "dp-voyageo"  # an EUR partner of the run that none of the transfer cases picks
MANDATE_ID = "NC-DEMO-VOYAGEO-B2B-0001"
RETURN_REASON = "AM04"  # insufficient funds: re-presented once
MAX_DAYS = 10  # scaled days the demo waits at most for its collections to settle down
_UNSETTLED = (CollectionState.PENDING.value, CollectionState.SUBMITTED.value, CollectionState.SETTLED.value)


@dataclass(frozen=True, slots=True)
class DemoDebit:
    collection: str  # our EndToEndId
    invoice: str
    attempt: int
    amount: str
    currency: str
    collection_date: str | None
    state: str
    reason: str | None


@dataclass
class RunDirectDebits:
    partner: str = DEBITED_PARTNER
    mandate: str = MANDATE_ID
    days: list[str] = field(default_factory=list)  # the scaled days simulated
    files: list[str] = field(default_factory=list)  # the pain.008 files sent
    notifications: list[ImportedStatement] = field(default_factory=list)
    debits: list[DemoDebit] = field(default_factory=list)
    settled: bool = False  # every collection of the run ended, the AM04 one re-presented
    folder: str = ""


def debited_partner() -> DemoPartner:
    return next(p for p in PARTNERS if p.id == DEBITED_PARTNER)


def debited_terms(partner: DemoPartner) -> dict[str, Any]:
    """The seed's contract, collected by direct debit, its invoices due on their issue day."""
    terms = demand_partner_terms(partner)
    return terms | {
        "invoicing": terms["invoicing"] | {"payment_terms_days": 0},
        "collection": {"method": "DIRECT_DEBIT"},
    }


def enrol(writes: SessionFactory, *, now: datetime) -> None:
    """The partner's contract says DIRECT_DEBIT (a new version from ``now`` when it did not), and its B2B
    mandate is stored unless it is already. Before the run's sessions start, so they use that contract.
    (`networkcore dev` re-seeds the contract as TRANSFER; the demo sets it again.)"""
    partner = debited_partner()
    assert partner.iban is not None
    with writes.begin() as db:
        ensure_demand_partner(db, partner, debited_terms(partner), now=now)
    if not any(m.mandate_id == MANDATE_ID for m in direct_debits.mandates(writes, partner.id)):
        direct_debits.add_mandate(
            writes,
            partner_id=partner.id,
            mandate_id=MANDATE_ID,
            signed_on=EPOCH.date(),
            scheme="B2B",
            iban=partner.iban,
            bic=partner.bic,
            clock=lambda: now,
        )


def returns_for(presented_before: int) -> dict[str, list[str | None]]:
    """The simulated bank's returns: the mandate's first collection of this run comes back AM04 (it counts
    every file in the outbox, earlier runs' too, whose collections were paid)."""
    return {MANDATE_ID: [None] * presented_before + [RETURN_REASON]}


def settled_down(lines: Sequence[CollectionLine], day: date) -> bool:
    """On ``day``, every collection ended (credited, returned or rejected), none can still be returned (B2B
    returns come within two days of the collection date), and each return that is re-presented has its
    second attempt; there is at least one collection."""
    if not lines or any(line.state in _UNSETTLED for line in lines):
        return False
    if any(line.collection_date is not None and day < line.collection_date + RETURN_AFTER for line in lines):
        return False
    attempts = {(line.invoice_number, line.attempt) for line in lines}
    return all(
        (line.invoice_number, line.attempt + 1) in attempts
        for line in lines
        if line.state == CollectionState.RETURNED.value and representation_allowed(line.reason_code, line.attempt)
    )


def debit(settings: Settings, invoice_numbers: Sequence[str], first_day: date) -> RunDirectDebits:
    """The collection run and the bank's notification, day after day, until the run's collections settle."""
    creditor = platform_bank_accounts(settings)["EUR"]
    accounts = our_accounts(settings.platform_bank_accounts)
    folder = DATA_DIR / "bank" / "notifications"
    folder.mkdir(parents=True, exist_ok=True)
    run = RunDirectDebits(folder=str(folder))
    wanted = set(invoice_numbers)
    outbox = settings.collection_outbox
    before = sum(1 for d in SimulatedDirectDebitBank(outbox).debits() if d.mandate_id == MANDATE_ID)
    simulated = SimulatedDirectDebitBank(outbox, returns=returns_for(before))
    with open_database(settings.database_url) as database:
        collector = direct_debits.collector(
            database.writes,
            outbox=outbox,
            inbox=settings.collection_inbox,
            creditor=creditor,
            creditor_id=settings.sepa_creditor_id,
        )
        lines: list[CollectionLine] = []
        for offset in range(MAX_DAYS):
            day = first_day + timedelta(days=offset)
            clock = noon(day)
            run.days.append(day.isoformat())
            run.files += direct_debits.collect(collector, day, clock=clock).files
            message_id = f"SIMDD-{day:%Y%m%d}-{uuid.uuid4().hex[:8]}"
            document = simulated.notification(creditor.iban, day, day, message_id=message_id)
            if document is not None:
                name = f"{day.isoformat()}-{message_id}.camt054.xml"
                (folder / name).write_bytes(document)
                done = bank.import_file(database.writes, document, name, accounts, clock=clock)
                run.notifications.append(ImportedStatement(name, done.entries, done.by_outcome, list(done.warnings)))
            lines = [
                line
                for line in direct_debits.collections(database.reads, DEBITED_PARTNER)
                if line.invoice_number in wanted
            ]
            if settled_down(lines, day):
                run.settled = True
                break
    run.debits = [
        DemoDebit(
            line.end_to_end_id,
            line.invoice_number or "-",
            line.attempt,
            str(from_minor(line.amount_minor, line.currency)),
            line.currency,
            None if line.collection_date is None else line.collection_date.isoformat(),
            line.state,
            line.reason,
        )
        for line in sorted(lines, key=lambda line: (line.invoice_number or "", line.attempt))
    ]
    return run


def print_direct_debits(console: Console, run: RunDirectDebits) -> None:
    table = Table(
        title=f"Direct debits: dp:{run.partner} under its B2B mandate {run.mandate} "
        f"(scaled days {run.days[0] if run.days else '-'} to {run.days[-1] if run.days else '-'})"
    )
    for column in ("collection", "invoice", "attempt", "amount", "debited on", "state", "reason"):
        table.add_column(column, justify="right" if column in ("attempt", "amount") else "left")
    for d in run.debits:
        table.add_row(
            d.collection,
            d.invoice,
            str(d.attempt),
            f"{d.amount} {d.currency}",
            d.collection_date or "-",
            d.state,
            d.reason or "-",
        )
    console.print(table)
    console.print(f"  pain.008 files sent: {', '.join(run.files) or 'none'}", soft_wrap=True)
    for notification in run.notifications:
        outcomes = ", ".join(f"{n} {o.lower()}" for o, n in sorted(notification.outcomes.items())) or "no entries"
        console.print(f"  imported {notification.file}: {notification.entries} entries ({outcomes})", soft_wrap=True)
        for warning in notification.warnings:
            console.print(f"    [yellow]WARNING[/] {warning}", soft_wrap=True)
    if not run.settled:
        console.print(f"  [red]the collections did not settle within {MAX_DAYS} scaled days[/]")
