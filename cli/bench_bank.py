"""Bank statement entries matched and booked per second, on SQLite and on PostgreSQL: the simulated bank
writes one camt.053 with ``count`` partner payments, each quoting the RF of one of ``count`` open invoices
(a few partly, a few in free text), and the import `networkcore bank import` runs reads, checks, matches and
books it: entries, matches, allocations and ledger entries, in one transaction."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from cli.bench_ledger import scratch_postgres
from domain.invoicing.creditor_reference import creditor_reference
from domain.money import from_minor
from persistence.bank_bench import issue_open_invoices
from persistence.db import open_database
from persistence.migrate import upgrade
from services import bank
from simulator.bank import IncomingPayment, SimulatedBank

TARGET_ENTRIES_PER_S = 5_000
ENTRIES = 10_000
PARTNERS = 50
OURS = "DE02100500000054540402"
DAY = date(2026, 10, 30)


def _payments(numbers: list[str], totals: list[int]) -> list[IncomingPayment]:
    payments = []
    for i, (number, total) in enumerate(zip(numbers, totals, strict=True)):
        amount = from_minor(total if i % 10 else total - 100, "EUR")  # every tenth pays 1.00 short
        quoting = (
            {"text": f"invoice {creditor_reference(number)}"}
            if i % 7 == 0
            else {"reference": creditor_reference(number)}
        )
        payments.append(
            IncomingPayment(
                f"Partner {i % PARTNERS}", f"NL91ABNA04171643{i % PARTNERS:02d}", "EUR", amount, DAY, **quoting
            )
        )
    return payments


def entries_per_second(database_url: str, count: int = ENTRIES) -> float:
    """Entries of one statement of ``count`` payments matched and booked per second."""
    upgrade(database_url)
    now = datetime.now(UTC)
    totals = [1000 + (i * 37) % 50_000 for i in range(count)]
    with open_database(database_url) as database:
        with database.writes.begin() as db:
            numbers = issue_open_invoices(
                db, [f"dp-bench-{p}" for p in range(PARTNERS)], "EUR", totals, series="BENCH", now=now
            )
        simulated = SimulatedBank(database.writes, accounts={OURS: "EUR"}, opening_balance=Decimal(0))
        simulated.receive_payments(_payments(numbers, totals), now=now)
        statement = simulated.statement(OURS, DAY, now=now)
        began = time.perf_counter()
        done = bank.import_file(database.writes, statement, "bench.camt053.xml", {OURS: "EUR"})
        elapsed = time.perf_counter() - began
    assert done.by_outcome == {"PARTNER": count}, f"every payment matches its invoice: {done.by_outcome}"
    return count / elapsed


def bank_rates(workdir: Path, count: int = ENTRIES) -> dict[str, float | None]:
    rates: dict[str, float | None] = {"sqlite": entries_per_second(f"sqlite:///{workdir / 'bank.db'}", count)}
    with scratch_postgres() as url:
        rates["postgresql"] = None if url is None else entries_per_second(url, count)
    return rates
