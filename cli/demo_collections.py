"""The demo's money in: once the run's invoices are issued and its payouts paid, the demand partners pay
their open invoices in the simulated bank, the bank writes our camt.053 statements, and they are imported
through the service `networkcore bank import` uses. Every matching path shows: most partners pay on time
quoting the invoice's RF as a structured reference, one pays a statement day late, one pays part of an
invoice, and one types the reference wrong in free text from an account we don't know, so its money waits
in suspense until the demo assigns it as ops would (`networkcore bank assign`). A partner collected by
direct debit (``cli/demo_direct_debits.py``) pays nothing by transfer. Then the reminders run on scaled
days past the invoices' due dates (what is still open: the partial payment's rest), and the reconciliation.

Dates follow the demo's clock: the first statement is of the run's day (or the day after the bank's latest
statement, when an earlier run stated that day already), the late payment is booked on the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.bank import our_accounts, simulated_bank
from cli.seed import PARTNERS
from config.settings import DATA_DIR, Settings, platform_party
from domain.collections.matching import OpenInvoice
from domain.invoicing.creditor_reference import creditor_reference
from domain.money import from_minor
from persistence import dunning
from persistence.db import open_database
from services import bank, reminders

ON_TIME, LATE, PARTIAL, MISTYPED = "on time, RF quoted", "a statement day late", "in part", "reference mistyped"
UNKNOWN_ACCOUNT = "NL02ABNA0123456789"  # the partner's other account, which we don't know


@dataclass(frozen=True, slots=True)
class DemoPayment:
    partner: str
    invoice: str
    due: str  # what the invoice has open
    paid: str
    currency: str
    booked_on: str
    how: str


@dataclass(frozen=True, slots=True)
class ImportedStatement:
    file: str
    entries: int
    outcomes: dict[str, int]
    warnings: list[str]


@dataclass
class RunCollections:
    payments: list[DemoPayment] = field(default_factory=list)
    statements: list[ImportedStatement] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)
    unmatched_left: int = 0
    reconciliation: dict[str, Any] = field(default_factory=dict)  # as `bank reconcile --json` prints it
    agrees: dict[str, bool] = field(default_factory=dict)  # per currency: book = statement + in transit
    folder: str = ""


@dataclass(frozen=True, slots=True)
class OverdueItem:
    partner: str
    invoice: str
    due: str
    open: str
    currency: str


@dataclass(frozen=True, slots=True)
class DemoReminder:
    number: str
    partner: str
    level: str
    issued_on: str
    open: str
    interest: str
    fees: str
    currency: str
    invoices: list[str]


@dataclass
class RunReminders:
    days: list[str] = field(default_factory=list)  # the scaled days the reminder run ran on
    overdue: list[OverdueItem] = field(default_factory=list)  # open past their due date on the last of them
    issued: list[DemoReminder] = field(default_factory=list)


def _plan(invoices: Sequence[OpenInvoice], debited: Collection[str] = ()) -> list[tuple[OpenInvoice, str]]:
    """How each open invoice is paid by transfer: the first invoice of the first partners mistyped, in part
    and late (one each, on distinct invoices), every other one on time; none of a ``debited`` partner's (its
    invoices are collected by direct debit)."""
    roles = [MISTYPED, PARTIAL, LATE]
    planned: list[tuple[OpenInvoice, str]] = []
    seen_partners: set[str] = set()
    for invoice in invoices:
        if invoice.partner_id in debited:
            continue
        role = ON_TIME
        if roles and invoice.partner_id not in seen_partners:
            role = roles.pop(0)
            seen_partners.add(invoice.partner_id)
        planned.append((invoice, role))
    return planned


def _mistyped(reference: str) -> str:
    """The reference with its check digits swapped, as a payer types it into free text."""
    digits = reference[2:4]
    swapped = digits[::-1] if digits[0] != digits[1] else f"{(int(digits) + 1) % 100:02d}"
    return f"{reference[:2]} {swapped}{reference[4:]}".lower()


def collect(settings: Settings, invoice_numbers: Sequence[str], debited: Collection[str] = ()) -> RunCollections:
    """The partners pay the run's open invoices (but ``debited`` partners); the statements are written and
    imported, what landed in suspense is assigned."""
    partners = {p.id: p for p in PARTNERS}
    accounts = our_accounts(settings.platform_bank_accounts)
    run = RunCollections(folder=str(DATA_DIR / "bank" / "statements"))
    wanted = set(invoice_numbers)
    with open_database(settings.database_url) as database:
        simulated = simulated_bank(database.writes, settings.platform_bank_accounts)
        first_day = simulated.first_open_day(datetime.now(UTC).date())
        late_day = first_day + timedelta(days=1)
        currency_of: dict[str, str] = {}
        open_items = []
        for currency in sorted(set(accounts.values())):
            for i in bank.open_invoices(database.reads, currency):
                if i.number in wanted and i.open_minor > 0 and i.partner_id in partners:
                    open_items.append(i)
                    currency_of[i.number] = currency
        mistyped_text: dict[str, tuple[str, str]] = {}  # remittance text -> (partner, invoice)
        for invoice, how in _plan(sorted(open_items, key=lambda i: (i.partner_id, i.number)), debited):
            partner, currency = partners[invoice.partner_id], currency_of[invoice.number]
            reference = creditor_reference(invoice.number)
            amount_minor = max(invoice.open_minor // 2, 1) if how == PARTIAL else invoice.open_minor
            day = late_day if how == LATE else first_day
            if how == MISTYPED:
                text = f"invoice {_mistyped(reference)}"
                mistyped_text[text] = (partner.id, invoice.number)
                simulated.receive_payment(
                    partner.name,
                    UNKNOWN_ACCOUNT,
                    currency,
                    from_minor(amount_minor, currency),
                    day,
                    text=text,
                    now=datetime.now(UTC),
                )
            else:
                simulated.receive_payment(
                    partner.name,
                    partner.iban or UNKNOWN_ACCOUNT,
                    currency,
                    from_minor(amount_minor, currency),
                    day,
                    reference=reference,
                    now=datetime.now(UTC),
                )
            run.payments.append(
                DemoPayment(
                    partner.id,
                    invoice.number,
                    str(from_minor(invoice.open_minor, currency)),
                    str(from_minor(amount_minor, currency)),
                    currency,
                    day.isoformat(),
                    how,
                )
            )
        folder = DATA_DIR / "bank" / "statements"
        folder.mkdir(parents=True, exist_ok=True)
        for day in (first_day, late_day):
            for iban, document in simulated.statements(day, now=datetime.now(UTC)).items():
                name = f"{day.isoformat()}-{accounts[iban]}-{iban}.camt053.xml"
                (folder / name).write_bytes(document)
                done = bank.import_file(database.writes, document, name, accounts)
                run.statements.append(ImportedStatement(name, done.entries, done.by_outcome, list(done.warnings)))
        for line in bank.unmatched(database.reads):
            known = mistyped_text.get(str(line.details.get("unstructured") or ""))
            if known is None:
                continue
            partner_id, number = known
            bank.assign(
                database.writes, line.entry_key, partner_id, invoice_number=number, assigned_by="networkcore demo (ops)"
            )
            run.assigned.append(
                f"entry {line.entry_key}: {from_minor(line.amount_minor, line.currency)} {line.currency} from "
                f"{line.details.get('debtor_iban')} ({line.details.get('unstructured')!r}) assigned to "
                f"dp:{partner_id}, invoice {number}"
            )
        run.unmatched_left = len(bank.unmatched(database.reads))
    return run


def reconcile(settings: Settings, run: RunCollections) -> None:
    """`bank reconcile` once all money in of the demo is imported (transfers and direct debits)."""
    with open_database(settings.database_url) as database:
        report = bank.reconciliation(database.reads)
    run.reconciliation = report.as_json()
    run.agrees = {c: r.agrees for c, r in report.currencies.items()}


def noon(day: date) -> Callable[[], datetime]:
    """A clock standing at noon UTC of a scaled day."""
    at = datetime.combine(day, time(12), UTC)
    return lambda: at


def reminder_days(latest_due: date) -> list[date]:
    """The day after the latest due date (FRIENDLY) and two weeks later (FIRST), on the default ladder."""
    return [latest_due + timedelta(days=1), latest_due + timedelta(days=15)]


def remind(settings: Settings, latest_due: date) -> RunReminders:
    """The daily reminder run (``networkcore bank reminders --date D``) on scaled days past the run's due
    dates, and what is overdue on the last of them. Only reminders are dated ahead: a partner is refused new
    sessions for an overdue invoice by the real date (authorisation asks the clock), so the demo's own
    sessions are not affected."""
    run = RunReminders()
    platform = platform_party(settings)
    days = reminder_days(latest_due)
    with open_database(settings.database_url) as database:
        for day in days:
            run.days.append(day.isoformat())
            for r in reminders.run_reminders(database.writes, platform, on=day):
                run.issued.append(
                    DemoReminder(
                        r.number,
                        r.demand_partner_id,
                        r.level,
                        r.issued_on.isoformat(),
                        str(from_minor(r.open_minor, r.currency)),
                        str(from_minor(r.interest_minor, r.currency)),
                        str(from_minor(r.fee_minor, r.currency)),
                        r.currency,
                        r.invoices,
                    )
                )
        with database.reads() as db:
            for partner_id in dunning.partners_with_overdue(db, on=days[-1]):
                for invoice in dunning.overdue_invoices(db, partner_id, due_before=days[-1]):
                    run.overdue.append(
                        OverdueItem(
                            partner_id,
                            invoice.number,
                            invoice.due_date.isoformat(),
                            str(from_minor(invoice.open_minor, invoice.currency)),
                            invoice.currency,
                        )
                    )
    return run


def print_reminders(console: Console, run: RunReminders) -> None:
    last = run.days[-1] if run.days else "-"
    overdue = Table(title=f"Overdue on the scaled day {last}: invoices open past their due date")
    for column in ("partner", "invoice", "due", "open"):
        overdue.add_column(column, justify="right" if column == "open" else "left")
    for item in run.overdue:
        overdue.add_row(item.partner, item.invoice, item.due, f"{item.open} {item.currency}")
    console.print(overdue)
    issued = Table(title=f"Reminders issued by the daily run on the scaled days {', '.join(run.days)}")
    for column in ("reminder", "partner", "level", "date", "open", "interest", "fees", "invoices"):
        issued.add_column(column, justify="right" if column in ("open", "interest", "fees") else "left")
    for r in run.issued:
        issued.add_row(
            r.number,
            r.partner,
            r.level,
            r.issued_on,
            f"{r.open} {r.currency}",
            r.interest,
            r.fees,
            ", ".join(r.invoices),
        )
    console.print(issued)
    if not run.issued:
        console.print("  no reminders were due (every invoice paid, or reminded by an earlier run)")


def print_collections(console: Console, run: RunCollections) -> None:
    table = Table(title="Money in: the partners pay their issued invoices in the simulated bank")
    for column in ("partner", "invoices paid", "paid", "open before", "not on time, in full, by RF"):
        table.add_column(column, justify="right" if column in ("invoices paid", "paid", "open before") else "left")
    for partner in sorted({p.partner for p in run.payments}):
        mine = [p for p in run.payments if p.partner == partner]
        currency = mine[0].currency
        paid = sum((Decimal(p.paid) for p in mine), Decimal(0))
        due = sum((Decimal(p.due) for p in mine), Decimal(0))
        special = "; ".join(
            f"{p.invoice} {p.how} ({p.paid} of {p.due}, {p.booked_on})" for p in mine if p.how != ON_TIME
        )
        table.add_row(partner, str(len(mine)), f"{paid} {currency}", f"{due} {currency}", special or "-")
    console.print(table)
    for statement in run.statements:
        outcomes = ", ".join(f"{n} {o.lower()}" for o, n in sorted(statement.outcomes.items())) or "no entries"
        console.print(f"  imported {statement.file}: {statement.entries} entries ({outcomes})", soft_wrap=True)
        for warning in statement.warnings:
            console.print(f"    [yellow]WARNING[/] {warning}", soft_wrap=True)
    for line in run.assigned:
        console.print(f"  unmatched, then assigned as ops would: {line}", soft_wrap=True)
    console.print(f"  still unmatched: {run.unmatched_left}; statements in {run.folder}/", soft_wrap=True)


def print_reconciliation(console: Console, run: RunCollections) -> None:
    reconcile = Table(title="bank reconcile: book = statement + in transit, per currency")
    for column in ("currency", "book", "statement", "in transit", "matched", "unmatched", "collected", ""):
        reconcile.add_column(column, justify="left" if column in ("currency", "") else "right")
    collected = run.reconciliation.get("collected", {})
    for currency, r in run.reconciliation.get("currencies", {}).items():
        reconcile.add_row(
            currency,
            r["book_balance"],
            r["statement_balance"] or "-",
            r["in_transit"],
            r["matched"],
            r["unmatched"],
            collected.get(currency, "0"),
            "[green]OK[/]" if run.agrees.get(currency) else "[red]DISAGREES[/]",
        )
    console.print(reconcile)
