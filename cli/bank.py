"""`networkcore bank import|unmatched|assign|reconcile|reminders`: bank statements, reconciliation and payment
reminders for ops; `bank simulate-payment|simulate-statement`: partners pay in the simulated bank, which writes
our camt.053."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from domain.errors import DomainError
from domain.money import from_minor
from domain.vat.treatment import TaxParty
from persistence.db import SessionFactory
from services import bank, reminders
from simulator.bank import BankRefusal, SimulatedBank


def statement_files(paths: Sequence[str]) -> list[Path]:
    """The files given, a folder's *.xml files in name order."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        found += sorted(path.glob("*.xml")) if path.is_dir() else [path]
    return found


def run_import(
    writes: SessionFactory, paths: Sequence[str], accounts: Mapping[str, str], out: TextIO = sys.stdout
) -> int:
    """Import each file; 0 when every one was booked (now or before), 1 if any was refused, 2 if unreadable."""
    code = 0
    for path in statement_files(paths):
        try:
            content = path.read_bytes()
        except OSError as error:
            print(f"networkcore bank import: {error}", file=sys.stderr)
            code = 2
            continue
        done = bank.import_file(writes, content, path.name, accounts)
        if done.refusal is not None:
            print(f"{path.name}: REFUSED (stored, nothing booked): {done.refusal}", file=out)
            code = max(code, 1)
        elif done.already_imported:
            print(f"{path.name}: imported before, nothing booked again", file=out)
        else:
            outcomes = ", ".join(f"{n} {o.lower()}" for o, n in sorted(done.by_outcome.items())) or "nothing to match"
            print(
                f"{path.name}: {done.entries} entries booked ({outcomes}); {done.already_booked} booked before, "
                f"{done.not_booked} not booked (pending/information)",
                file=out,
            )
        for warning in done.warnings:
            print(f"  WARNING: {warning}", file=out)
    return code


def print_unmatched(reads: SessionFactory, *, as_json: bool, out: TextIO = sys.stdout) -> int:
    lines = bank.unmatched(reads)
    rows = [
        {
            "entry": line.entry_key,
            "line": line.line,
            "iban": line.iban,
            "booking_date": line.booking_date,
            "direction": line.direction,
            "amount": str(from_minor(line.amount_minor, line.currency)),
            "currency": line.currency,
            "payer": line.details.get("debtor_name"),
            "payer_iban": line.details.get("debtor_iban"),
            "references": [ref for _, ref in line.details.get("references", [])],
            "remittance": line.details.get("unstructured") or None,
        }
        for line in lines
    ]
    if as_json:
        print(json.dumps(rows, indent=2), file=out)
        return 0
    if not rows:
        print("nothing in suspense", file=out)
    for line, row in zip(lines, rows, strict=True):
        print(
            f"  entry {row['entry']} line {row['line']}  {row['booking_date']}  {row['direction']} "
            f"{row['amount']:>12} {row['currency']}  {row['payer'] or '-'} {row['payer_iban'] or ''}  "
            f"{' '.join(str(r[1]) for r in line.details.get('references', [])) or row['remittance'] or ''}",
            file=out,
        )
    return 0


def run_assign(writes: SessionFactory, entry: int, partner: str, invoice: str | None, out: TextIO = sys.stdout) -> int:
    try:
        lines = bank.assign(writes, entry, partner, invoice_number=invoice)
    except DomainError as refused:
        print(f"networkcore bank assign: {refused}", file=sys.stderr)
        return 1
    for line in lines:
        print(
            f"entry {line.entry_key} line {line.line}: {from_minor(line.amount_minor, line.currency)} {line.currency} "
            f"assigned to dp:{partner}{f' (invoice {invoice})' if invoice else ''}",
            file=out,
        )
    return 0


def print_reconciliation(reads: SessionFactory, *, as_json: bool, out: TextIO = sys.stdout) -> int:
    """0 when book = statement + in transit in every currency with a statement, 1 otherwise."""
    report = bank.reconciliation(reads)
    if as_json:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        print(f"{report.statements_imported} statement file(s) imported", file=out)
        for currency, r in sorted(report.currencies.items()):
            values = r.as_json()
            print(
                f"  {currency}: book {values['book_balance']}, statement {values['statement_balance'] or '-'}, "
                f"in transit {values['in_transit']}; matched {values['matched']}, unmatched {values['unmatched']}, "
                f"collected {from_minor(r.collected_minor, currency)}  {'OK' if r.agrees else 'DISAGREES'}",
                file=out,
            )
    return 0 if all(r.agrees for r in report.currencies.values()) else 1


def our_accounts(platform_bank_accounts: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Our IBANs and their currencies, from the ``platform_bank_accounts`` setting."""
    return {details["iban"]: currency.upper() for currency, details in platform_bank_accounts.items()}


def simulated_bank(writes: SessionFactory, platform_bank_accounts: Mapping[str, Mapping[str, str]]) -> SimulatedBank:
    """The simulated bank holding our accounts (the payout rail of the demo and the tests)."""
    return SimulatedBank(writes, accounts=our_accounts(platform_bank_accounts))


def _day(text: str | None) -> date:
    return datetime.now(UTC).date() if text is None else date.fromisoformat(text)


def run_simulate_payment(
    simulated: SimulatedBank,
    payer: str | None,
    payer_iban: str | None,
    currency: str | None,
    amount: str | None,
    booked_on: str | None,
    reference: str | None,
    text: str | None,
    out: TextIO = sys.stdout,
) -> int:
    """A partner pays us in the simulated bank; 0, or 1 when the bank refuses, 2 on missing arguments."""
    if not (payer and payer_iban and currency and amount):
        print(
            "networkcore bank simulate-payment: --payer, --payer-iban, --currency and --amount are required",
            file=sys.stderr,
        )
        return 2
    try:
        day = _day(booked_on)
        servicer_reference = simulated.receive_payment(
            payer,
            payer_iban,
            currency.upper(),
            Decimal(amount),
            day,
            reference=reference,
            text=text,
            now=datetime.now(UTC),
        )
    except (BankRefusal, InvalidOperation, ValueError) as refused:
        print(f"networkcore bank simulate-payment: {refused}", file=sys.stderr)
        return 1
    print(f"{amount} {currency.upper()} from {payer} booked on {day} ({servicer_reference})", file=out)
    return 0


def write_statements(simulated: SimulatedBank, day: date, folder: Path) -> list[Path]:
    """Every account's camt.053 up to ``day``, written to ``folder`` (named so they sort by day)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for iban, document in simulated.statements(day, now=datetime.now(UTC)).items():
        path = folder / f"{day.isoformat()}-{simulated.accounts[iban]}-{iban}.camt053.xml"
        path.write_bytes(document)
        written.append(path)
    return written


def run_simulate_statement(simulated: SimulatedBank, day: str | None, folder: Path, out: TextIO = sys.stdout) -> int:
    try:
        written = write_statements(simulated, _day(day), folder)
    except (BankRefusal, ValueError) as refused:
        print(f"networkcore bank simulate-statement: {refused}", file=sys.stderr)
        return 1
    for path in written:
        print(f"{path}", file=out)
    print(f"import them with: networkcore bank import --file {folder}", file=out)
    return 0


def run_reminders(
    writes: SessionFactory, platform: TaxParty, *, on: date, as_json: bool, out: TextIO = sys.stdout
) -> int:
    """Issue the reminders due on ``on``; a second run the same day issues none."""
    issued = reminders.run_reminders(writes, platform, on=on)
    rows = [
        {
            "number": r.number,
            "partner": r.demand_partner_id,
            "level": r.level,
            "date": r.issued_on.isoformat(),
            "currency": r.currency,
            "open": str(from_minor(r.open_minor, r.currency)),
            "interest": str(from_minor(r.interest_minor, r.currency)),
            "fees": str(from_minor(r.fee_minor, r.currency)),
            "invoices": r.invoices,
        }
        for r in issued
    ]
    if as_json:
        print(json.dumps({"date": on.isoformat(), "issued": rows}, indent=2), file=out)
        return 0
    if not rows:
        print(f"{on.isoformat()}: no reminders due", file=out)
    for row in rows:
        print(
            f"  {row['number']}  dp:{row['partner']}  {row['level']:<8} {row['currency']} open {row['open']}, "
            f"interest {row['interest']}, fees {row['fees']}  ({', '.join(row['invoices'])})",
            file=out,
        )
    return 0
