"""Balanced transfers per second into the ledger, on SQLite and on PostgreSQL: settlement entries like
stage 8's (cross-currency, eight postings), booked in batches through ``post_batch``, each batch one
transaction with the database's own balance check at commit. And the latency of an authorisation's credit
hold on an empty ledger against one where the partner has a long history: balances are kept, not summed."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

from domain.fx.rates import FxRate
from domain.invoicing.chain import SessionSupply, chain_lines
from domain.ledger import accounts
from domain.ledger.accounts import AccountKind
from domain.ledger.entries import JournalEntry
from domain.settlement.contracts import CommissionTerms, RevenueShareTerms, ShareBasis
from domain.settlement.revenue_share import settlement_entry, split_revenue
from domain.vat.treatment import TaxParty
from persistence import holds, ledger, ledger_bench
from persistence.db import Database, database_url_named, libpq_url, open_database
from persistence.migrate import upgrade
from persistence.vat_rates import vat_rate_table

TARGET_TRANSFERS_PER_S = 5_000
BATCH = 500
POSTGRES_ADMIN_URL = os.environ.get("NETWORKCORE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
COMMISSION = CommissionTerms(Decimal(8), Decimal("0.20"), Decimal("5.00"))
SHARE = RevenueShareTerms(Decimal(15), ShareBasis.COMMISSION)
PLATFORM = TaxParty("NetworkCore GmbH", "Berlin", "DE", {"DE": "DE312987657", "CH": "CHE-301.845.272 MWST"})
CPO = TaxParty("VoltaSwiss AG", "Genève", "CH", {"CH": "CHE-109.322.551 MWST"})
PARTNER = TaxParty("Fahrwerk Mobility GmbH", "München", "DE", {"DE": "DE281045677"})
EUR_CHF = FxRate("EUR", "CHF", Decimal("0.9412"), date(2026, 10, 30), "ECB")


def settlement_entries(count: int) -> list[JournalEntry]:
    """Stage-8 entries of ``count`` sessions spread over 20 partners and 30 CPOs: Swiss charging (CHF,
    Swiss VAT) billed in EUR, the heaviest kind, with eight postings."""
    entries = []
    rates = vat_rate_table()
    for i in range(count):
        net = 1000 + (i * 37) % 5000
        split = split_revenue(net, "CHF", COMMISSION, SHARE)
        lines = chain_lines(
            SessionSupply(f"bench-{i}", Decimal("12.5"), date(2026, 10, 30), "CH", "Genève"),
            cpo=CPO,
            platform=PLATFORM,
            partner=PARTNER,
            tariff_currency="CHF",
            cpo_net_minor=split.cpo_minor,
            billing_currency="EUR",
            billed_net_minor=net * 104 // 100,
            rates=rates,
            national_currency="CHF",
            national_rates={"EUR": EUR_CHF},
        )
        entry = settlement_entry(
            f"bench-{uuid.uuid4()}:settlement",
            demand_partner_id=f"dp-{i % 20}",
            cpo_id=f"cpo-{i % 30}",
            split=split,
            bought=lines.cpo_to_platform,
            sold=lines.platform_to_partner,
        )
        assert entry is not None
        entries.append(entry)
    return entries


def transfers_per_second(database_url: str, count: int) -> float:
    upgrade(database_url)
    with open_database(database_url) as database:
        entries = settlement_entries(count)
        with database.writes.begin() as db:  # open the accounts first, as a running ledger has them
            ledger.post_batch(db, entries[:BATCH], now=datetime.now(UTC))
        began = time.perf_counter()
        for start in range(BATCH, count, BATCH):
            with database.writes.begin() as db:
                ledger.post_batch(db, entries[start : start + BATCH], now=datetime.now(UTC))
        elapsed = time.perf_counter() - began
        with database.reads() as db:
            assert all(total == 0 for total in ledger.currency_totals(db).values()), "the bench books balance"
        return (count - BATCH) / elapsed


@contextmanager
def scratch_postgres(server_url: str = POSTGRES_ADMIN_URL) -> Iterator[str | None]:
    """A throw-away database on the PostgreSQL server ``server_url`` connects to (as SQLAlchemy or libpq
    writes it), or None when no server answers. Its URL is ``server_url`` naming the new database."""
    admin_url = libpq_url(server_url)
    try:
        with psycopg.connect(admin_url, connect_timeout=2, autocommit=True) as admin:
            name = f"nc_bench_{uuid.uuid4().hex[:10]}"
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        yield None
        return
    try:
        yield database_url_named(server_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ledger_rates(workdir: Path, count: int = 20_000) -> dict[str, float | None]:
    rates: dict[str, float | None] = {"sqlite": transfers_per_second(f"sqlite:///{workdir / 'ledger.db'}", count)}
    with scratch_postgres() as url:
        rates["postgresql"] = None if url is None else transfers_per_second(url, count)
    return rates


HISTORY_POSTINGS = 1_000_000
HISTORY_HOLDS = 20_000
TIMED_HOLDS = 500
TARGET_HISTORY_RATIO = 1.10  # a long history costs an authorisation at most 10 % more than none
BENCH_PARTNER = "dp-bench"
HOLD_MINOR = 5_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True, slots=True)
class HoldLatency:
    """Milliseconds of one authorisation's credit hold (``place_hold`` and its commit), on an empty ledger and,
    taken in turn with it so that a shared machine's noise falls on both alike, on one where the partner's
    receivable has ``HISTORY_POSTINGS`` postings and its credit-hold account ``HISTORY_HOLDS`` settled holds."""

    empty_ms: list[float]
    history_ms: list[float]
    load_s: float  # booking the history through the database's triggers, alongside the other backend's

    def shown(self, share: float) -> str:
        """The ``share`` percentile on both ledgers, and their ratio."""
        empty, history = percentile(self.empty_ms, share), percentile(self.history_ms, share)
        return f"{empty:.2f} / {history:.2f} (x{history / empty:.2f})"

    def as_json(self) -> dict[str, float]:
        return {
            f"{name}_{ledger}": percentile(values, share)
            for name, share in (("p50", 0.5), ("p99", 0.99))
            for ledger, values in (("empty", self.empty_ms), ("history", self.history_ms))
        }


def _book_history(url: str) -> float:
    """The partner's long history; returns how long it took to book."""
    now = datetime.now(UTC)
    began = time.perf_counter()
    with open_database(url) as database:
        with database.writes.begin() as db:
            receivable = accounts.demand_partner(BENCH_PARTNER, AccountKind.RECEIVABLE)
            ledger_bench.book_history(db, receivable, "EUR", HISTORY_POSTINGS, prefix="bench-history-", now=now)
            hold_account = accounts.demand_partner(BENCH_PARTNER, AccountKind.CREDIT_HOLD)
            ledger_bench.settle_holds(
                db, hold_account, "EUR", HISTORY_HOLDS, amount_minor=HOLD_MINOR, prefix="bench-hold-", now=now
            )
        loaded = time.perf_counter() - began
        with database.reads() as db:
            assert ledger.account_balance(db, receivable, "EUR") == 0, "the history charges and pays back alike"
    return loaded


def _hold_ms(database: Database) -> float:
    """One credit hold in its own transaction, timed. It stays pending, as a session still charging."""
    now = datetime.now(UTC)
    request = holds.HoldRequest(
        session_id=str(uuid.uuid4()),
        demand_partner_id=BENCH_PARTNER,
        currency="EUR",
        amount_minor=HOLD_MINOR,
        limit_minor=10**12,
        expires_at=now + timedelta(days=1),
    )
    began = time.perf_counter()
    with database.writes.begin() as db:
        holds.place_hold(db, request, now=now)
    return (time.perf_counter() - began) * 1000


def _time_holds(empty_url: str, history_url: str, count: int) -> tuple[list[float], list[float]]:
    with open_database(empty_url) as empty, open_database(history_url) as history:
        for _ in range(count // 10):  # statements prepared and caches warm on both before timing
            _hold_ms(empty)
            _hold_ms(history)
        empty_ms: list[float] = []
        history_ms: list[float] = []
        for i in range(count):
            # Each goes first half the time, so that neither gains from following the other.
            for database, latencies in ((empty, empty_ms), (history, history_ms))[:: 1 if i % 2 else -1]:
                latencies.append(_hold_ms(database))
    return empty_ms, history_ms


def hold_latencies(workdir: Path, count: int = TIMED_HOLDS) -> dict[str, HoldLatency | None]:
    """Per backend, an empty ledger against a partner's long history. Both backends' histories are booked at
    once (one core each), then the holds are timed one backend after the other."""
    with scratch_postgres() as empty_postgres, scratch_postgres() as history_postgres:
        pairs = {"sqlite": (f"sqlite:///{workdir / 'holds-empty.db'}", f"sqlite:///{workdir / 'holds-history.db'}")}
        if empty_postgres is not None and history_postgres is not None:
            pairs["postgresql"] = (empty_postgres, history_postgres)
        urls = [url for pair in pairs.values() for url in pair]
        now = datetime.now(UTC)
        for url in urls:
            upgrade(url)  # one at a time: Alembic's context is global
            with open_database(url) as database, database.writes.begin() as db:
                ledger_bench.add_partner(db, BENCH_PARTNER, "EUR", now=now)
        with ThreadPoolExecutor(len(pairs)) as pool:
            loads = {backend: pool.submit(_book_history, history) for backend, (_, history) in pairs.items()}
            load_s = {backend: load.result() for backend, load in loads.items()}
        for url in urls:
            with open_database(url) as database:
                ledger_bench.vacuum(database.engine)
        latencies: dict[str, HoldLatency | None] = {"sqlite": None, "postgresql": None}
        for backend, (empty, history) in pairs.items():
            latencies[backend] = HoldLatency(*_time_holds(empty, history, count), load_s[backend])
        return latencies
