"""Dunning in the domain: the grace boundary, the ladder by date, late-payment interest to the cent (and its
invariants: zero until the day after the due date, monotonic in days and amount), the recovery fee by
jurisdiction and contract, and the reminder's totals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.collections.dunning import (
    DunningTerms,
    LadderStep,
    Level,
    ReminderParty,
    block_cutoff,
    blocks,
    late_interest_minor,
    overdue_item,
    reached,
    reminder_document,
)
from domain.settlement.contracts import ContractTermsInvalid, dunning_terms

DUE = date(2026, 3, 1)
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
principals = st.integers(min_value=0, max_value=10**12)
percents = st.decimals(min_value=0, max_value=50, places=2, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("on", "level"),
    [
        (date(2026, 2, 28), None),
        (date(2026, 3, 1), None),  # the due date itself: not late
        (date(2026, 3, 2), Level.FRIENDLY),  # D+1
        (date(2026, 3, 14), Level.FRIENDLY),  # D+13
        (date(2026, 3, 15), Level.FIRST),  # D+14
        (date(2026, 3, 28), Level.FIRST),
        (date(2026, 3, 29), Level.SECOND),  # D+28
        (date(2026, 4, 12), Level.SUSPEND),  # D+42
        (date(2026, 9, 1), Level.SUSPEND),
    ],
)
def test_the_default_ladder_by_date(on: date, level: Level | None) -> None:
    step = reached(DunningTerms().ladder, DUE, on)
    assert (None if step is None else step.level) == level


@pytest.mark.parametrize(
    ("on", "blocked"), [(date(2026, 3, 1), False), (date(2026, 3, 8), False), (date(2026, 3, 9), True)]
)
def test_new_sessions_are_blocked_the_day_after_the_grace_period(on: date, blocked: bool) -> None:
    assert blocks(DUE, on, DunningTerms(grace_days=7).block_after_days) is blocked


def test_a_suspend_step_before_the_grace_period_blocks_first() -> None:
    ladder = (LadderStep(1, Level.FRIENDLY), LadderStep(5, Level.SUSPEND))
    assert DunningTerms(grace_days=7, ladder=ladder).block_after_days == 5
    assert DunningTerms(grace_days=3, ladder=ladder).block_after_days == 3
    assert DunningTerms(grace_days=0).block_after_days == 0


@given(due=dates, on=dates, days=st.integers(min_value=0, max_value=365))
def test_the_cutoff_query_says_what_blocks_says(due: date, on: date, days: int) -> None:
    assert blocks(due, on, days) is (due < block_cutoff(on, days))


@pytest.mark.parametrize(
    ("principal", "percent", "on", "interest"),
    [
        (11900, Decimal("9"), DUE, 0),  # nothing on the due date
        (11900, Decimal("9"), DUE - timedelta(days=3), 0),
        (11900, Decimal("9"), DUE + timedelta(days=1), 3),  # 119.00 * 9 % / 365 = 0.0293
        (11900, Decimal("9"), DUE + timedelta(days=30), 88),  # 0.8803
        (100_000_000, Decimal("9.12"), DUE + timedelta(days=1), 24986),  # 1,000,000.00: 249.863
        (18250, Decimal("1"), DUE + timedelta(days=1), 1),  # exactly 0.5 of a cent: half-up
        (11900, Decimal("5"), DUE + timedelta(days=365), 595),  # Art. 104 OR, a year: 5 % of 119.00
    ],
)
def test_late_interest_to_the_cent(principal: int, percent: Decimal, on: date, interest: int) -> None:
    assert late_interest_minor(principal, percent, DUE, on) == interest


@given(principal=principals, percent=percents, due=dates, on=dates)
def test_no_interest_until_the_day_after_the_due_date(principal: int, percent: Decimal, due: date, on: date) -> None:
    if on <= due:
        assert late_interest_minor(principal, percent, due, on) == 0


@given(principal=principals, percent=percents, on=dates, more=st.integers(min_value=0, max_value=2000))
def test_interest_grows_with_the_days(principal: int, percent: Decimal, on: date, more: int) -> None:
    assert late_interest_minor(principal, percent, DUE, on) <= late_interest_minor(
        principal, percent, DUE, on + timedelta(days=more)
    )


@given(principal=principals, extra=principals, percent=percents, on=dates)
def test_interest_grows_with_the_amount(principal: int, extra: int, percent: Decimal, on: date) -> None:
    assert late_interest_minor(principal, percent, DUE, on) <= late_interest_minor(principal + extra, percent, DUE, on)


@pytest.mark.parametrize(
    ("country", "section", "fee"),
    [
        ("DE", {}, {"EUR": Decimal("40.00")}),  # Dir. 2011/7/EU: EUR 40
        ("FR", {}, {"EUR": Decimal("40.00")}),
        ("NO", {}, {"EUR": Decimal("40.00")}),  # EEA
        ("CH", {}, {}),  # Art. 104 OR: interest, no lump sum
        ("GB", {}, {}),  # by debt size: the contract states it
        ("GB", {"recovery_fee": {"GBP": "70.00"}}, {"GBP": Decimal("70.00")}),
        ("DE", {"recovery_fee": {}}, {}),  # waived
    ],
)
def test_the_recovery_fee_by_jurisdiction_and_contract(
    country: str, section: dict[str, object], fee: dict[str, Decimal]
) -> None:
    assert dict(dunning_terms({"dunning": section}, country).recovery_fee) == fee


def test_contract_terms_are_read_and_checked() -> None:
    terms = dunning_terms(
        {
            "dunning": {
                "grace_days": 10,
                "late_interest_percent": "9.12",
                "ladder": [{"days": 3, "level": "FRIENDLY"}, {"days": 20, "level": "SUSPEND"}],
            }
        },
        "DE",
    )
    assert (terms.grace_days, terms.late_interest_percent, terms.block_after_days) == (10, Decimal("9.12"), 10)
    assert [step.level for step in terms.ladder] == [Level.FRIENDLY, Level.SUSPEND]
    defaults = dunning_terms({}, "CH")
    assert (defaults.grace_days, defaults.late_interest_percent, len(defaults.ladder)) == (7, None, 4)
    for bad, message in [
        ({"grace_days": True}, "grace_days"),
        ({"grace_days": -1}, "grace_days"),
        ({"late_interest_percent": 9.5}, "decimal string"),
        ({"recovery_fee": "40"}, "recovery_fee"),
        ({"ladder": [{"days": 14, "level": "FIRST"}, {"days": 1, "level": "FRIENDLY"}]}, "rise"),
        ({"ladder": [{"days": 0, "level": "FRIENDLY"}]}, "at least 1"),
        ({"ladder": [{"days": 3, "level": "LAWYER"}]}, "level"),
        ({"ladder": [{"days": 3}]}, "level"),
        ("soon", "object"),
    ]:
        with pytest.raises(ContractTermsInvalid, match=message):
            dunning_terms({"dunning": bad}, "DE")


def _item(level: Level, *, percent: str | None = "9", fee_before: bool = False) -> tuple[int, int]:
    terms = DunningTerms(late_interest_percent=None if percent is None else Decimal(percent))
    item = overdue_item(
        terms=terms,
        level=level,
        invoice_number="NC-000001",
        payment_reference="RF18NC000001",
        currency_fee_minor=4000,
        due=DUE,
        open_minor=11900,
        on=DUE + timedelta(days=30),
        fee_claimed_before=fee_before,
    )
    return item.interest_minor, item.fee_minor


def test_what_each_level_claims() -> None:
    assert _item(Level.FRIENDLY) == (0, 0)
    assert _item(Level.FIRST) == (88, 0)
    assert _item(Level.SECOND) == (88, 4000)
    assert _item(Level.SUSPEND, fee_before=True) == (88, 0)  # the fee once per invoice
    assert _item(Level.SECOND, percent=None) == (0, 4000)  # no interest where the contract has none


def test_a_reminder_adds_up_and_states_its_basis() -> None:
    terms = DunningTerms(late_interest_percent=Decimal("9"))
    items = [
        overdue_item(
            terms=terms,
            level=Level.SECOND,
            invoice_number=f"NC-00000{n}",
            payment_reference=None,
            currency_fee_minor=4000,
            due=DUE,
            open_minor=open_minor,
            on=DUE + timedelta(days=30),
            fee_claimed_before=n == 2,
        )
        for n, open_minor in ((1, 11900), (2, 5950))
    ]
    party = ReminderParty("X", "Street 1, 10115 Berlin", "DE")
    document = reminder_document(
        number="REM-000001",
        level=Level.SECOND,
        issued_on=DUE + timedelta(days=30),
        currency="EUR",
        supplier=party,
        customer=party,
        items=items,
        interest_percent=Decimal("9"),
        pay_to=None,
        amount=lambda minor: f"{Decimal(minor).scaleb(-2):.2f}",
    )
    # 119.00 + 59.50 open; interest 0.88 + 0.44; one fee of 40.00 (the second invoice had its fee before).
    assert document["totals"] == {"open": "178.50", "interest": "1.32", "fees": "40.00", "due": "219.82"}
    assert [item["days_late"] for item in document["items"]] == [30, 30]
    assert document["title"] == "Second reminder"
    assert any("no VAT" in note for note in document["notes"])
