"""Balanced transfers per second into the ledger, on SQLite and on PostgreSQL: settlement entries like
stage 8's (cross-currency, eight postings), booked in batches through ``post_batch``, each batch one
transaction with the database's own balance check at commit."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg

from domain.fx.rates import FxRate
from domain.invoicing.chain import SessionSupply, chain_lines
from domain.ledger.entries import JournalEntry
from domain.settlement.contracts import CommissionTerms, RevenueShareTerms, ShareBasis
from domain.settlement.revenue_share import settlement_entry, split_revenue
from domain.vat.treatment import TaxParty
from persistence import ledger
from persistence.db import open_database
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
def scratch_postgres() -> Iterator[str | None]:
    """A throw-away PostgreSQL database, or None when no server answers."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2, autocommit=True) as admin:
            name = f"nc_bench_{uuid.uuid4().hex[:10]}"
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        yield None
        return
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ledger_rates(workdir: Path, count: int = 20_000) -> dict[str, float | None]:
    rates: dict[str, float | None] = {"sqlite": transfers_per_second(f"sqlite:///{workdir / 'ledger.db'}", count)}
    with scratch_postgres() as url:
        rates["postgresql"] = None if url is None else transfers_per_second(url, count)
    return rates
