"""Payout rules, pure: schedules, netting and the minimum, the entries that move the money, bank details,
the contract's payout terms."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ledger.entries import balances
from domain.payouts.bank import BankDetailsInvalid, bank_account
from domain.payouts.batches import (
    BANK,
    CASH_IN_TRANSIT,
    Payee,
    PayeeKind,
    PayoutRefused,
    instruction_entry,
    netting_entry,
    paid_entry,
    plan_payout,
    returned_entry,
)
from domain.payouts.schedule import PayoutFrequency, PayoutSchedule, Weekday, next_release
from domain.settlement.contracts import ContractTermsInvalid, payout_schedule

instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC))
schedules = st.builds(
    PayoutSchedule,
    frequency=st.sampled_from(PayoutFrequency),
    at=st.times(),
    weekday=st.sampled_from(Weekday),
    day=st.integers(1, 28),
)


@given(schedules, instants)
def test_the_next_release_is_the_first_scheduled_time_after_now(schedule: PayoutSchedule, now: datetime) -> None:
    released = next_release(schedule, now)
    if schedule.frequency == PayoutFrequency.INSTANT:
        assert released == now
        return
    assert released > now
    assert released.time() == schedule.at
    period = {PayoutFrequency.DAILY: 1, PayoutFrequency.WEEKLY: 7, PayoutFrequency.MONTHLY: 31}[schedule.frequency]
    assert released - now <= timedelta(days=period)
    if schedule.frequency == PayoutFrequency.WEEKLY:
        assert released.weekday() == schedule.weekday
    if schedule.frequency == PayoutFrequency.MONTHLY:
        assert released.day == schedule.day
    # Nothing scheduled is skipped: the release before this one is not after now.
    assert next_release(schedule, released - timedelta(microseconds=1)) == released


def test_worked_release_times() -> None:
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert next_release(PayoutSchedule(PayoutFrequency.DAILY, time(6, 0)), monday_noon) == datetime(
        2026, 11, 24, 6, 0, tzinfo=UTC
    )
    assert next_release(
        PayoutSchedule(PayoutFrequency.WEEKLY, time(12, 0), weekday=Weekday.MONDAY), monday_noon
    ) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert next_release(
        PayoutSchedule(PayoutFrequency.MONTHLY, time(6, 0), day=1), datetime(2026, 12, 5, tzinfo=UTC)
    ) == (datetime(2027, 1, 1, 6, 0, tzinfo=UTC))


@given(payable=st.integers(-(10**9), 10**9), receivable=st.integers(-(10**9), 10**9), minimum=st.integers(0, 10**6))
def test_netting_and_the_minimum_account_for_every_minor_unit(payable: int, receivable: int, minimum: int) -> None:
    plan = plan_payout("EUR", payable_balance=payable, receivable_balance=receivable, minimum_minor=minimum)
    owed_to_payee = max(-payable, 0)
    assert plan.netted_minor + plan.amount_minor + plan.rolled_over_minor == owed_to_payee
    assert 0 <= plan.netted_minor <= max(receivable, 0)
    assert plan.amount_minor == 0 or plan.amount_minor >= minimum
    assert plan.rolled_over_minor == 0 or plan.rolled_over_minor < minimum
    assert min(plan.netted_minor, plan.amount_minor, plan.rolled_over_minor) >= 0


def test_a_worked_netting() -> None:
    # We owe 10.00, the partner owes 3.50: 3.50 is set off, 6.50 is paid.
    assert plan_payout("EUR", payable_balance=-1000, receivable_balance=350, minimum_minor=500).amount_minor == 650
    # The partner owes more than we owe it: everything is set off, nothing paid.
    owing = plan_payout("EUR", payable_balance=-1000, receivable_balance=5000, minimum_minor=0)
    assert (owing.netted_minor, owing.amount_minor) == (1000, 0)
    # Below the minimum: rolled over.
    assert plan_payout("EUR", payable_balance=-499, receivable_balance=0, minimum_minor=500).rolled_over_minor == 499


@given(st.integers(1, 10**12))
def test_every_payout_entry_balances_and_moves_the_amount(amount: int) -> None:
    payee = Payee(PayeeKind.DEMAND_PARTNER, "dp-x")
    for entry in (
        netting_entry("k:netting", payee, "EUR", amount),
        instruction_entry("k:instructed", payee, "EUR", amount),
        paid_entry("k:paid", "EUR", amount),
        returned_entry("k:returned", payee, "EUR", amount),
    ):
        assert balances(entry.postings) == {"EUR": 0}
        assert {abs(p.amount_minor) for p in entry.postings} == {amount}
    # Instructed then returned leaves the payable where it was; instructed then paid empties it into the bank.
    moved = instruction_entry("a", payee, "EUR", amount).postings + returned_entry("b", payee, "EUR", amount).postings
    assert {p.account for p in moved if p.account == CASH_IN_TRANSIT} == {CASH_IN_TRANSIT}
    assert sum(p.amount_minor for p in moved if p.account == payee.payable_account) == 0
    paid = instruction_entry("a", payee, "EUR", amount).postings + paid_entry("b", "EUR", amount).postings
    assert sum(p.amount_minor for p in paid if p.account == BANK) == -amount


def test_payees_name_their_accounts_and_refuse_other_parties() -> None:
    cpo = Payee.parse("cpo:cpo-ch-vsw")
    assert (cpo.payable_account, cpo.receivable_account) == ("cpo:cpo-ch-vsw:payable", None)
    partner = Payee.parse("dp:dp-roamly")
    assert (partner.payable_account, partner.receivable_account) == (
        "dp:dp-roamly:revenue_share_payable",
        "dp:dp-roamly:receivable",
    )
    with pytest.raises(PayoutRefused):
        Payee.parse("platform")
    with pytest.raises(AssertionError):
        netting_entry("k", cpo, "EUR", 100)


def test_bank_details_are_checked_by_schwifty() -> None:
    account = bank_account("Stromnetz", "de", "DE89 3704 0044 0532 0130 00", None)
    assert (account.iban, account.bic, account.country) == ("DE89370400440532013000", "COBADEFFXXX", "DE")
    with pytest.raises(BankDetailsInvalid, match="checksum"):
        bank_account("X", "DE", "DE89370400440532013001", None)
    with pytest.raises(BankDetailsInvalid, match="not the bank of IBAN"):
        bank_account("X", "DE", "DE89370400440532013000", "UBSWCHZH80A")
    with pytest.raises(BankDetailsInvalid, match="no IBAN"):
        bank_account("X", "DE", None, None)
    with pytest.raises(BankDetailsInvalid, match="BIC"):
        bank_account("X", "CH", "CH9300762011623852957", "NOTABIC")


def test_the_contracts_payout_terms_are_parsed_strictly() -> None:
    assert payout_schedule({}) == PayoutSchedule()
    weekly = payout_schedule(
        {"payout": {"schedule": "WEEKLY", "weekday": "FRIDAY", "time": "17:30", "minimum": {"CHF": "25.00"}}}
    )
    assert (weekly.frequency, weekly.weekday, weekly.at) == (PayoutFrequency.WEEKLY, Weekday.FRIDAY, time(17, 30))
    assert (weekly.minimum_for("CHF"), weekly.minimum_for("EUR")) == (Decimal("25.00"), Decimal(0))
    for bad, message in [
        ({"schedule": "HOURLY"}, "payout.schedule must be"),
        ({"time": "25:00"}, "payout.time"),
        ({"time": "06:00+02:00"}, "payout.time"),
        ({"weekday": "FUNDAY"}, "payout.weekday"),
        ({"day": 31}, "payout.day"),
        ({"minimum": {"EUR": 1.5}}, "payout.minimum.EUR must be a decimal string"),
        ({"minimum": {"EUR": "-1"}}, "non-negative"),
    ]:
        with pytest.raises(ContractTermsInvalid, match=message):
            payout_schedule({"payout": bad})
