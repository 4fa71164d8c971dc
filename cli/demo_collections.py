"""The demo's money in: once the run's invoices are issued and its payouts paid, the demand partners pay
their open invoices in the simulated bank, the bank writes our camt.053 statements, and they are imported
through the service `networkcore bank import` uses. Every matching path shows: most partners pay on time
quoting the invoice's RF as a structured reference, one pays a statement day late, one pays part of an
invoice, and one types the reference wrong in free text from an account we don't know, so its money waits
in suspense until the demo assigns it as ops would (`networkcore bank assign`). Then the reconciliation.

Dates follow the demo's clock: the first statement is of the run's day (or the day after the bank's latest
statement, when an earlier run stated that day already), the late payment is booked on the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.bank import our_accounts, simulated_bank
from cli.seed import PARTNERS
from config.settings import DATA_DIR, Settings
from domain.collections.matching import OpenInvoice
from domain.invoicing.creditor_reference import creditor_reference
from domain.money import from_minor
from persistence.db import open_database
from services import bank

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


def _plan(invoices: Sequence[OpenInvoice]) -> list[tuple[OpenInvoice, str]]:
    """How each open invoice is paid: the first invoice of the first partners mistyped, in part and late
    (one each, on distinct invoices), every other one on time."""
    roles = [MISTYPED, PARTIAL, LATE]
    planned: list[tuple[OpenInvoice, str]] = []
    seen_partners: set[str] = set()
    for invoice in invoices:
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


def collect(settings: Settings, invoice_numbers: Sequence[str]) -> RunCollections:
    """The partners pay the run's open invoices; the statements are written, imported and reconciled."""
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
        for invoice, how in _plan(sorted(open_items, key=lambda i: (i.partner_id, i.number))):
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
        report = bank.reconciliation(database.reads)
        run.reconciliation = report.as_json()
        run.agrees = {c: r.agrees for c, r in report.currencies.items()}
    return run


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
