"""Revenue-share documents on both databases: a month of a German partner's settled sessions collects on one
self-billed statement in the partner's own series, issued by the monthly run with its totals to the cent
and its VAT booked as owed to the partner once, however often the run is retried; the partner sees it;
a credit note takes back a line and its VAT. A foreign partner's statement is reverse-charged and books
nothing of its own. The migration goes up, down and up again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.invoicing import StatementActivities
from cli.seed import DemoPartner, ensure_demand_partner
from domain.invoicing.chain import SessionSupply
from domain.invoicing.documents import Cadence, DocumentKind, line_from_json
from domain.parties import Cpo
from domain.payouts.batches import Payee, PayeeKind
from domain.settlement.contracts import CommissionTerms, RevenueShareTerms, ShareBasis
from domain.settlement.plan import SettlementFacts, plan_settlement
from domain.settlement.revenue_share import revenue_share_vat_key
from messages.invoicing import StatementRun
from persistence import invoices, ledger
from persistence.db import make_engine
from persistence.ledger_check import check_ledger
from persistence.migrate import alembic_config, upgrade
from persistence.parties import latest_partner_party
from persistence.payout_reconciliation import payee_positions
from persistence.revenue_share import book_revenue_share_vat
from persistence.settlement_booking import book_settlement
from persistence.tables import InvoiceLineRow, InvoiceRow, InvoiceSeriesRow, PayoutItemRow
from persistence.vat_rates import vat_rate_table
from services.invoices import InvoiceNotFound, partner_invoice_document, partner_invoices
from tests.einvoice_documents import ISSUING
from tests.integration.test_error_type_migration import database_at
from tests.integration.test_holds import new_session
from tests.integration.test_invoices import CPO, PLATFORM

NOW = datetime(2026, 6, 1, 2, tzinfo=UTC)
TERMS = {
    "billing_currency": "EUR",
    "revenue_share": {"percent": "50", "basis": "COMMISSION"},
    "credit": {"limit": "1000.00", "session_cap": "80.00"},
}
# 10 % commission, half of it the partner's: nets of 100.00, 200.00 and 43.21 share 5.00, 10.00 and 2.16.
COMMISSION = CommissionTerms(Decimal(10), None, None)
SHARE = RevenueShareTerms(Decimal(50), ShareBasis.COMMISSION)
MAY = [(10000, date(2026, 5, 3)), (20000, date(2026, 5, 17)), (4321, date(2026, 5, 31))]


def add_partner(writes: sessionmaker[Session], country: str, vat_id: str) -> str:
    suffix = uuid.uuid4().hex[:8]
    partner = DemoPartner(f"dp-rs-{suffix}", f"Partner {suffix}", country, vat_id, "EUR", f"key-{suffix}")
    with writes.begin() as db:
        ensure_demand_partner(db, partner, TERMS, now=NOW)
    return partner.id


def settle(writes: sessionmaker[Session], partner_id: str, net_minor: int, supplied_on: date) -> str:
    """Plan and book a session's settlement as stages 7-8 do (EUR, a German charger)."""
    session_id = new_session(writes, partner_id)
    with writes.begin() as db:
        facts = SettlementFacts(
            generation=0,
            supply=SessionSupply(session_id, Decimal("20.000"), supplied_on, "DE", "Berlin"),
            cpo=Cpo("cpo-rs", "DE", "RSX", active=True),
            cpo_tax=CPO,
            demand_partner_id=partner_id,
            partner_tax=latest_partner_party(db, partner_id),
            platform=PLATFORM,
            commission=COMMISSION,
            revenue_share=SHARE,
            cadence=Cadence.PER_SESSION,
            tariff_currency="EUR",
            net_minor=net_minor,
            billing_currency="EUR",
            billed_net_minor=net_minor,
            vat_rates=vat_rate_table(),
            national_currency="EUR",
            national_rates={},
            share_vat_currency="EUR",
            share_vat_rate=None,
        )
        book_settlement(db, plan_settlement(facts), now=NOW, issuing=ISSUING)
    return session_id


def run_statements(writes: sessionmaker[Session], before: str) -> list[str]:
    """The monthly run of the revenue-share statements, as the Schedule starts it."""
    activities = StatementActivities(writes, platform=PLATFORM, einvoicing=ISSUING)
    run = StatementRun(before_period=before, recipient="platform")
    return ActivityEnvironment().run(activities.issue_due_statements, run).issued


def statement(writes: sessionmaker[Session], number: str) -> InvoiceRow:
    with writes() as db:
        return db.scalars(select(InvoiceRow).where(InvoiceRow.number == number)).one()


def vat_items(writes: sessionmaker[Session], partner_id: str) -> list[tuple[str | None, str, int]]:
    with writes() as db:
        rows = db.execute(
            select(PayoutItemRow.session_id, PayoutItemRow.entry_key, PayoutItemRow.amount_minor)
            .where(PayoutItemRow.payee == f"dp:{partner_id}", PayoutItemRow.entry_key.like("revenue-share-%"))
            .order_by(PayoutItemRow.key)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_month_of_sessions_is_one_self_billed_statement_numbered_in_the_partner_s_series(
    writes: sessionmaker[Session],
) -> None:
    partner_id = add_partner(writes, "DE", "DE281045677")
    series = f"RS-{partner_id.upper()}"
    sessions = [settle(writes, partner_id, net, day) for net, day in MAY]
    june = settle(writes, partner_id, 10000, date(2026, 6, 2))
    with writes() as db:
        drafts = db.scalars(select(InvoiceRow).where(InvoiceRow.issuer == f"dp:{partner_id}")).all()
    assert sorted((d.status, d.period, d.recipient, d.number) for d in drafts) == [
        ("DRAFT", "2026-05", "platform", None),
        ("DRAFT", "2026-06", "platform", None),
    ]

    may = f"{series}-000001"
    assert may in run_statements(writes, "2026-06")
    assert may not in run_statements(writes, "2026-06")  # retried: nothing left to issue
    issued = statement(writes, may)
    assert (issued.net_minor, issued.vat_minor) == (1716, 326)  # 5.00 + 10.00 + 2.16; 0.95 + 1.90 + 0.41
    document = issued.document
    assert document is not None
    assert (document["kind"], document["self_billing"], document["statement_period"]) == ("INVOICE", True, "2026-05")
    assert (document["supplier"]["vat_id"], document["customer"]["vat_id"]) == ("DE281045677", "DE312987657")
    assert document["customer"]["name"] == PLATFORM.name
    assert document["notes"] == ["Self-billing"]
    assert document["payment"] is None
    assert document["totals"] == {"net": "17.16", "vat": "3.26", "gross": "20.42"}
    assert [(line["session_id"], line["description"], line["net"], line["vat"]) for line in document["lines"]] == [
        (sessions[0], f"Revenue share, session {sessions[0]}", "5.00", "0.95"),
        (sessions[1], f"Revenue share, session {sessions[1]}", "10.00", "1.90"),
        (sessions[2], f"Revenue share, session {sessions[2]}", "2.16", "0.41"),
    ]
    assert [(g["vat_treatment"], g["vat_percent"]) for g in document["vat_summary"]] == [("DOMESTIC", "19")]

    # The VAT is booked once, owed to the partner on top of its share and queued for its payout: running
    # the issue again (a retry after a lost reply) books nothing twice.
    key = revenue_share_vat_key(may)
    vat_entry = [(f"dp:{partner_id}:revenue_share_payable", "EUR", -326), ("platform:vat_recoverable:DE", "EUR", 326)]
    for _ in range(2):
        with writes.begin() as db:
            partner = latest_partner_party(db, partner_id)
            again = invoices.issue_statement(
                db, issued.key, supplier=partner, customer=PLATFORM, now=NOW, issuing=ISSUING
            )
            assert again.number == may
            rows = db.scalars(select(InvoiceLineRow).where(InvoiceLineRow.invoice_key == issued.key)).all()
            lines = [line_from_json(row.line) for row in rows]
            book_revenue_share_vat(db, partner_id=partner_id, number=may, currency="EUR", lines=lines, now=NOW)
        with writes() as db:
            assert ledger.entry_postings(db, key) == vat_entry
    assert vat_items(writes, partner_id) == [(None, key, 326)]

    june_number = f"{series}-000002"
    assert june_number in run_statements(writes, "2026-07")
    assert statement(writes, june_number).document["lines"][0]["session_id"] == june  # type: ignore[index]

    # A credit note takes back the first line and its VAT, in the same series.
    with writes.begin() as db:
        [first] = db.scalars(
            select(InvoiceLineRow).where(
                InvoiceLineRow.invoice_key == issued.key, InvoiceLineRow.session_id == sessions[0]
            )
        ).all()
        note = invoices.issue_credit_note(
            db,
            original=db.get_one(InvoiceRow, issued.key),
            line=line_from_json(first.line),
            generation=0,
            supplier=latest_partner_party(db, partner_id),
            customer=PLATFORM,
            now=NOW,
            issuing=ISSUING,
        )
        note_number = note.number
    assert note_number == f"{series}-000003"
    note_row = statement(writes, note_number)
    assert (note_row.kind, note_row.net_minor, note_row.vat_minor) == (DocumentKind.CREDIT_NOTE.value, -500, -95)
    assert note_row.document is not None
    assert (note_row.document["corrects"], note_row.document["notes"]) == (may, ["Self-billing"])
    assert vat_items(writes, partner_id) == [
        (None, key, 326),
        (None, revenue_share_vat_key(june_number), 95),
        (None, revenue_share_vat_key(note_number), -95),
    ]

    with writes() as db:
        numbers = db.scalars(
            select(InvoiceRow.number).where(InvoiceRow.series == series).order_by(InvoiceRow.key)
        ).all()
        counter = db.scalar(select(InvoiceSeriesRow.last_number).where(InvoiceSeriesRow.series == series))
        [position] = payee_positions(db, payee=Payee(PayeeKind.DEMAND_PARTNER, partner_id))
        problems = [p for p in check_ledger(db).problems if partner_id in p or series in p]
    assert (numbers, counter) == ([may, june_number, note_number], 3)
    # Shares of 5.00, 10.00, 2.16 and 5.00 (June), VAT 3.26 (May) and 0.95 (June) less 0.95 credited.
    assert (position.earned_minor, position.payable_minor) == (2216 + 326 + 95 - 95, 2216 + 326 + 95 - 95)
    assert position.reconciles
    assert problems == []

    # The partner sees its self-billed invoices among its invoices; nobody else does.
    listed = {invoice.number: invoice for invoice in partner_invoices(writes, partner_id).issued}
    assert {may, june_number, note_number} <= set(listed)
    assert (listed[may].self_billed, listed[may].due_date, listed[may].notes) == (True, None, ("Self-billing",))
    assert partner_invoice_document(writes, partner_id, may)["number"] == may
    other = add_partner(writes, "DE", "DE281045677")
    with pytest.raises(InvoiceNotFound):
        partner_invoice_document(writes, other, may)


def test_a_foreign_partner_s_statement_is_reverse_charged_and_books_no_vat(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes, "AT", "ATU12345675")
    for net, day in MAY:
        settle(writes, partner_id, net, day)
    number = f"RS-{partner_id.upper()}-000001"
    assert number in run_statements(writes, "2026-06")
    issued = statement(writes, number)
    assert (issued.net_minor, issued.vat_minor) == (1716, 0)
    assert issued.document is not None
    assert issued.document["notes"] == ["Self-billing", "Reverse charge"]
    assert issued.document["supplier"]["vat_id"] == "ATU12345675"
    assert [(g["vat_treatment"], g["place_of_supply"]) for g in issued.document["vat_summary"]] == [
        ("REVERSE_CHARGE", "DE")
    ]
    with writes() as db:
        assert ledger.entry_postings(db, revenue_share_vat_key(number)) is None
    assert vat_items(writes, partner_id) == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0028(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0028")


def test_migration_0029_goes_up_down_and_up_again(database_at_0028: str) -> None:
    url = database_at_0028
    upgrade(url, "0029")
    engine = make_engine(url)
    [session_id] = [c for c in inspect(engine).get_columns("payout_items") if c["name"] == "session_id"]
    assert session_id["nullable"]
    if engine.dialect.name == "postgresql":
        types = {c["name"]: str(c["type"]) for c in inspect(engine).get_columns("invoices")}
        assert (types["series"], types["number"]) == ("VARCHAR(80)", "VARCHAR(80)")
    engine.dispose()
    command.downgrade(alembic_config(url), "0028")
    engine = make_engine(url)
    [session_id] = [c for c in inspect(engine).get_columns("payout_items") if c["name"] == "session_id"]
    assert not session_id["nullable"]
    engine.dispose()
    upgrade(url, "0029")
