"""Overdue and reminders on SQLite and PostgreSQL: the OVERDUE refusal at the grace boundary, lifted at once by
a payment that covers the invoice (a part payment or a credit note for part of it does not), the credit it
restores; the reminder ladder over the days, one reminder per invoice and step however often the run goes,
interest to the cent, the recovery fee by the partner's jurisdiction, and the tables as the migration made
them. Each test has partners of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cli.seed import DemoPartner, ensure_demand_partner
from domain.errors import AuthorisationRefused, RefusalReason
from domain.invoicing.creditor_reference import creditor_reference
from persistence import dunning, invoices
from persistence.db import make_engine
from persistence.ledger_check import check_ledger
from persistence.migrate import alembic_config, upgrade
from persistence.positions import partner_positions
from persistence.tables import ContractRow, DemandPartnerRow, InvoiceRow, ReminderItemRow, ReminderRow
from services import bank
from tests.camt import Ntry, Tx, camt053
from tests.einvoice_documents import ISSUING
from tests.integration.test_bank_statements import invoice, money, new_iban, ref
from tests.integration.test_error_type_migration import database_at, schema_differences
from tests.integration.test_invoices import CPO, PLATFORM, line_for

ISSUED_AT = datetime(2026, 1, 5, 9, tzinfo=UTC)
DUE = date(2026, 1, 19)  # 14 days' terms


def add_partner(writes: sessionmaker[Session], country: str = "DE", **dunning_terms: Any) -> str:
    suffix = uuid.uuid4().hex[:8]
    vat_id = {"DE": "DE281045677", "CH": "CHE-109.322.551 MWST"}[country]
    partner = DemoPartner(f"dp-dun-{suffix}", f"Dunning {suffix}", country, vat_id, "EUR", f"k-dun-{suffix}")
    terms = {"credit": {"limit": "1000", "session_cap": "80"}, "dunning": dunning_terms}
    with writes.begin() as db:
        ensure_demand_partner(db, partner, terms, now=ISSUED_AT)
    return partner.id


def issue(writes: sessionmaker[Session], partner_id: str, net_minor: int, at: datetime = ISSUED_AT) -> tuple[str, int]:
    """An issued EUR invoice (19 % VAT) due 14 days after ``at``: its number and total."""
    return invoice(writes, partner_id, net_minor, at)


def refusal(writes: sessionmaker[Session], partner_id: str, on: date) -> str | None:
    with writes() as db:
        partner = db.get_one(DemandPartnerRow, partner_id)
        terms = db.scalars(select(ContractRow.terms).where(ContractRow.party_id == partner_id)).one()
        try:
            dunning.refuse_if_overdue(db, partner, terms, on=on)
        except AuthorisationRefused as refused:
            reason, detail = refused.reason, refused.detail
        else:
            return None
    assert reason == RefusalReason.OVERDUE
    return detail


def pay(writes: sessionmaker[Session], number: str, amount_minor: int) -> None:
    ours = new_iban()
    amount = money(amount_minor)
    statement = camt053(
        ours, "EUR", [Ntry(amount, ref(), txs=(Tx(amount=amount, scor=(creditor_reference(number),)),))]
    )
    done = bank.import_file(writes, statement, f"{ref()}.xml", {ours: "EUR"}, clock=lambda: ISSUED_AT)
    assert done.by_outcome == {"PARTNER": 1}, done


def available_minor(writes: sessionmaker[Session], partner_id: str) -> int:
    with writes() as db:
        (position,) = partner_positions(db, partner_id, "EUR", now=ISSUED_AT)
        assert position.available_minor is not None
        return position.available_minor


def test_overdue_past_the_grace_refuses_until_paid_in_full(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes, grace_days=7)
    number, total = issue(writes, partner_id, 10000)
    assert total == 11900
    assert refusal(writes, partner_id, DUE) is None
    assert refusal(writes, partner_id, DUE + timedelta(days=7)) is None  # the last day of grace
    assert refusal(writes, partner_id, DUE + timedelta(days=8)) == (
        f"invoice {number} was due on 2026-01-19 and 119.00 EUR of it is still open: "
        "new sessions start again once it is paid"
    )
    before = available_minor(writes, partner_id)
    pay(writes, number, 11800)  # a euro short
    assert "1.00 EUR of it is still open" in (refusal(writes, partner_id, DUE + timedelta(days=8)) or "")
    pay(writes, number, 100)
    assert refusal(writes, partner_id, DUE + timedelta(days=60)) is None
    # The collection restored the credit: the receivable went down by what was paid.
    assert available_minor(writes, partner_id) - before == 11900


def test_a_credit_note_counts_against_what_is_open(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes, grace_days=0)
    number, _ = issue(writes, partner_id, 5000)
    assert refusal(writes, partner_id, DUE + timedelta(days=1)) is not None
    with writes.begin() as db:
        original = db.scalars(select(InvoiceRow).where(InvoiceRow.number == number)).one()
        assert original.session_id is not None
        invoices.issue_credit_note(
            db,
            original=original,
            line=line_for(original.session_id, 5000),
            generation=1,
            supplier=PLATFORM,
            customer=CPO,
            now=ISSUED_AT + timedelta(days=2),
            issuing=ISSUING,
        )
    assert refusal(writes, partner_id, DUE + timedelta(days=1)) is None


def test_the_grace_period_comes_from_the_contract_and_a_suspend_step_may_come_first(
    writes: sessionmaker[Session],
) -> None:
    late = add_partner(writes, grace_days=30)
    early = add_partner(
        writes, grace_days=30, ladder=[{"days": 1, "level": "FRIENDLY"}, {"days": 3, "level": "SUSPEND"}]
    )
    for partner_id in (late, early):
        issue(writes, partner_id, 1000)
    assert refusal(writes, late, DUE + timedelta(days=30)) is None
    assert refusal(writes, late, DUE + timedelta(days=31)) is not None
    assert refusal(writes, early, DUE + timedelta(days=3)) is None
    assert refusal(writes, early, DUE + timedelta(days=4)) is not None


def remind(writes: sessionmaker[Session], partner_id: str, on: date) -> list[dict[str, Any]]:
    with writes.begin() as db:
        rows = dunning.remind_partner(db, partner_id, on=on, platform=PLATFORM, now=ISSUED_AT)
        return [row.document for row in rows]


@pytest.mark.parametrize(
    ("days_late", "level"),
    [(0, None), (1, "FRIENDLY"), (13, "FRIENDLY"), (14, "FIRST"), (27, "FIRST"), (28, "SECOND"), (42, "SUSPEND")],
)
def test_the_first_reminder_is_the_step_reached(
    writes: sessionmaker[Session], days_late: int, level: str | None
) -> None:
    partner_id = add_partner(writes)
    issue(writes, partner_id, 10000)
    issued = remind(writes, partner_id, DUE + timedelta(days=days_late))
    assert [document["level"] for document in issued] == ([] if level is None else [level])


def test_the_ladder_over_the_days_once_per_invoice_and_step(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes, late_interest_percent="9.00")
    first, _ = issue(writes, partner_id, 10000)
    second, _ = issue(writes, partner_id, 5000, at=ISSUED_AT + timedelta(days=10))  # due 2026-01-29
    levels: list[tuple[str, str, list[str]]] = []
    for day in range(0, 60):
        on = DUE + timedelta(days=day)
        for _ in range(2):  # a run repeated on the same day issues nothing more
            levels += [
                (on.isoformat(), document["level"], [item["invoice"] for item in document["items"]])
                for document in remind(writes, partner_id, on)
            ]
    assert levels == [
        ("2026-01-20", "FRIENDLY", [first]),
        ("2026-01-30", "FRIENDLY", [second]),
        ("2026-02-02", "FIRST", [first]),
        ("2026-02-12", "FIRST", [second]),
        ("2026-02-16", "SECOND", [first]),
        ("2026-02-26", "SECOND", [second]),
        ("2026-03-02", "SUSPEND", [first]),
        ("2026-03-12", "SUSPEND", [second]),
    ]
    with writes() as db:
        reminders = db.scalars(
            select(ReminderRow).where(ReminderRow.demand_partner_id == partner_id).order_by(ReminderRow.key)
        ).all()
        second_of_first = reminders[4]
        assert (second_of_first.level, second_of_first.issued_on) == ("SECOND", date(2026, 2, 16))
        # 119.00 at 9 % for 28 days: 0.8216 -> 0.82; the EUR 40 once (not again on SUSPEND).
        assert (second_of_first.open_minor, second_of_first.interest_minor, second_of_first.fee_minor) == (
            11900,
            82,
            4000,
        )
        assert second_of_first.document["totals"] == {
            "open": "119.00",
            "interest": "0.82",
            "fees": "40.00",
            "due": "159.82",
        }
        assert reminders[6].fee_minor == 0
        assert reminders[4].document["items"][0]["payment_reference"] == creditor_reference(first)
        numbers = [int(r.number.split("-")[1]) for r in reminders]
        assert numbers == sorted(numbers)
        assert all(r.number.startswith("REM-") for r in reminders)
        # Their series runs 1..N without a gap, as the ledger check sees it.
        assert [problem for problem in check_ledger(db).problems if "series REM" in problem] == []


def test_a_paid_invoice_gets_no_further_reminder(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes)
    number, total = issue(writes, partner_id, 10000)
    assert [d["level"] for d in remind(writes, partner_id, DUE + timedelta(days=1))] == ["FRIENDLY"]
    pay(writes, number, total)
    assert remind(writes, partner_id, DUE + timedelta(days=14)) == []


@pytest.mark.parametrize(("country", "fee"), [("DE", "40.00"), ("CH", "0.00")])
def test_the_recovery_fee_by_the_partners_jurisdiction(writes: sessionmaker[Session], country: str, fee: str) -> None:
    partner_id = add_partner(writes, country)
    issue(writes, partner_id, 10000)
    (document,) = remind(writes, partner_id, DUE + timedelta(days=28))
    assert (document["level"], document["totals"]["fees"], document["totals"]["interest"]) == ("SECOND", fee, "0.00")


def _change_reminder(writes: sessionmaker[Session], partner_id: str) -> None:
    with writes.begin() as db:
        db.scalars(select(ReminderRow).where(ReminderRow.demand_partner_id == partner_id)).one().level = "SECOND"


def _delete_item(writes: sessionmaker[Session], partner_id: str) -> None:
    with writes.begin() as db:
        db.delete(
            db.scalars(
                select(ReminderItemRow).join(ReminderRow).where(ReminderRow.demand_partner_id == partner_id)
            ).one()
        )


def test_reminders_are_immutable(writes: sessionmaker[Session]) -> None:
    partner_id = add_partner(writes)
    issue(writes, partner_id, 10000)
    remind(writes, partner_id, DUE + timedelta(days=1))
    with pytest.raises(IntegrityError, match="immutable"):
        _change_reminder(writes, partner_id)
    with pytest.raises(IntegrityError, match="immutable"):
        _delete_item(writes, partner_id)


def test_the_reminder_tables_are_as_the_migration_made_them(engine: Engine) -> None:
    assert [d for d in schema_differences(engine) if "reminder" in d or "due_date" in d or "corrects_key" in d] == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0027(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database_at(request.param, tmp_path, "0027")


def test_migration_0028_goes_up_down_and_up_again(database_at_0027: str) -> None:
    url = database_at_0027
    upgrade(url, "0028")
    engine = make_engine(url)
    assert {"reminders", "reminder_items"} <= set(inspect(engine).get_table_names())
    assert {"ix_invoices_recipient_due_date", "ix_invoices_corrects_key"} <= {
        index["name"] for index in inspect(engine).get_indexes("invoices")
    }
    engine.dispose()
    command.downgrade(alembic_config(url), "0027")
    engine = make_engine(url)
    assert not {"reminders", "reminder_items"} & set(inspect(engine).get_table_names())
    engine.dispose()
    upgrade(url, "0028")
