"""Dunning: when an unpaid invoice blocks new sessions, which reminder it is due for, and the late-payment
interest and recovery fee a reminder claims (money-in.md §5.1-5.3). Pure: the caller passes the dates.

A demand partner's contract may carry::

    "dunning": {"grace_days": 7,                       # after the due date, new sessions are refused
                "late_interest_percent": "9.00",       # p.a., simple, per day; absent: no interest
                "recovery_fee": {"EUR": "40.00"},      # per invoice, once; absent: EUR 40 in the EU/EEA
                "ladder": [{"days": 1, "level": "FRIENDLY"}, {"days": 14, "level": "FIRST"},
                           {"days": 28, "level": "SECOND"}, {"days": 42, "level": "SUSPEND"}]}

Levels: FRIENDLY (a friendly reminder), FIRST (with the interest to date), SECOND (plus the fixed recovery
fee and a suspension warning), SUSPEND (new sessions are refused; the grace period may block earlier).
Interest runs from the day after the due date: on the due date itself nothing is late. It is compensation,
not the price of a supply: reminders carry no VAT.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.money import round_to

DEFAULT_GRACE_DAYS = 7
MAX_GRACE_DAYS = 365
DAYS_PER_YEAR = 365  # simple interest, actual/365
# Dir. 2011/7/EU Art. 6 (also EEA): a fixed EUR 40 for recovery costs, per invoice paid late. Switzerland
# (Art. 104 OR) and the UK (fixed sums by debt size) have no such default here: their contracts state one.
EU_RECOVERY_FEE = {"EUR": Decimal("40.00")}
EU_EEA_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
    ]
)


class Level(StrEnum):
    FRIENDLY = "FRIENDLY"
    FIRST = "FIRST"
    SECOND = "SECOND"
    SUSPEND = "SUSPEND"

    @property
    def rank(self) -> int:
        return list(Level).index(self)

    @property
    def claims_interest(self) -> bool:
        return self is not Level.FRIENDLY

    @property
    def claims_fee(self) -> bool:
        return self in (Level.SECOND, Level.SUSPEND)


@dataclass(frozen=True, slots=True)
class LadderStep:
    days: int  # after the due date
    level: Level


DEFAULT_LADDER = (
    LadderStep(1, Level.FRIENDLY),
    LadderStep(14, Level.FIRST),
    LadderStep(28, Level.SECOND),
    LadderStep(42, Level.SUSPEND),
)


class LadderInvalid(ValueError):
    """A ladder whose steps are not in increasing days and levels."""


@dataclass(frozen=True, slots=True)
class DunningTerms:
    grace_days: int = DEFAULT_GRACE_DAYS
    late_interest_percent: Decimal | None = None
    recovery_fee: Mapping[str, Decimal] = field(default_factory=dict)  # per currency
    ladder: Sequence[LadderStep] = DEFAULT_LADDER

    def __post_init__(self) -> None:
        check_ladder(self.ladder)

    @property
    def block_after_days(self) -> int:
        """Days after the due date an open invoice may run before new sessions are refused: the grace
        period, or the ladder's SUSPEND step when that comes first."""
        suspend = [step.days for step in self.ladder if step.level is Level.SUSPEND]
        return min([self.grace_days, *suspend])

    def fee(self, currency: str) -> Decimal:
        return self.recovery_fee.get(currency, Decimal(0))


def default_recovery_fee(country: str) -> dict[str, Decimal]:
    """The recovery fee of a contract that states none, by the partner's country."""
    return dict(EU_RECOVERY_FEE) if country.upper() in EU_EEA_COUNTRIES else {}


def check_ladder(ladder: Sequence[LadderStep]) -> None:
    for earlier, later in itertools.pairwise(ladder):
        if not (earlier.days < later.days and earlier.level.rank < later.level.rank):
            raise LadderInvalid("dunning.ladder steps must rise in days and level (FRIENDLY, FIRST, SECOND, SUSPEND)")
    if any(step.days < 1 for step in ladder):
        raise LadderInvalid("dunning.ladder days count from the day after the due date: at least 1")


def days_late(due: date, on: date) -> int:
    """Days past the due date on ``on``; 0 on or before it."""
    return max(0, (on - due).days)


def blocks(due: date, on: date, block_after_days: int) -> bool:
    """Whether an invoice due on ``due``, still open on ``on``, refuses new sessions: once the grace has passed."""
    return days_late(due, on) > block_after_days


def block_cutoff(on: date, block_after_days: int) -> date:
    """Open invoices due before this date block new sessions on ``on`` (the query form of ``blocks``)."""
    return date.fromordinal(on.toordinal() - block_after_days)


def reached(ladder: Sequence[LadderStep], due: date, on: date) -> LadderStep | None:
    """The highest step of the ladder an invoice due on ``due`` has reached on ``on``."""
    late = days_late(due, on)
    steps = [step for step in ladder if late >= step.days]
    return steps[-1] if steps else None


def late_interest_minor(principal_minor: int, percent: Decimal, due: date, on: date) -> int:
    """Simple interest at ``percent`` p.a. on the overdue principal (minor units) for each day from the day
    after ``due`` to ``on`` included, actual/365, rounded half-up to the minor unit."""
    assert principal_minor >= 0
    assert percent >= 0
    exact = Decimal(principal_minor) * percent * days_late(due, on) / (100 * DAYS_PER_YEAR)
    return int(round_to(exact, 0))


@dataclass(frozen=True, slots=True)
class OverdueItem:
    """An invoice a reminder lists: what is open on it, since when, and what the reminder claims for it."""

    invoice_number: str
    payment_reference: str | None
    due_date: date
    open_minor: int
    days_late: int
    interest_minor: int
    fee_minor: int


def overdue_item(
    *,
    terms: DunningTerms,
    level: Level,
    invoice_number: str,
    payment_reference: str | None,
    currency_fee_minor: int,
    due: date,
    open_minor: int,
    on: date,
    fee_claimed_before: bool,
) -> OverdueItem:
    """The reminder line of one invoice at ``level``: interest to ``on`` from FIRST on (when the contract
    charges interest), the recovery fee once per invoice from SECOND on."""
    percent = terms.late_interest_percent
    interest = late_interest_minor(open_minor, percent, due, on) if percent and level.claims_interest else 0
    fee = currency_fee_minor if level.claims_fee and not fee_claimed_before else 0
    return OverdueItem(
        invoice_number=invoice_number,
        payment_reference=payment_reference,
        due_date=due,
        open_minor=open_minor,
        days_late=days_late(due, on),
        interest_minor=interest,
        fee_minor=fee,
    )


REMINDER_SERIES = "REM"
TITLES = {
    Level.FRIENDLY: "Payment reminder",
    Level.FIRST: "First reminder",
    Level.SECOND: "Second reminder",
    Level.SUSPEND: "Notice of suspension",
}
_NOTES = {
    Level.FRIENDLY: "We have not yet received payment of the invoices below. If you have paid in the last few "
    "days, please disregard this reminder.",
    Level.FIRST: "The invoices below are overdue. Late-payment interest accrues from the day after each due date.",
    Level.SECOND: "The invoices below are still unpaid. Unless they are paid, new charging sessions will be suspended.",
    Level.SUSPEND: "New charging sessions are suspended until the invoices below are paid. Running sessions are "
    "not interrupted.",
}


@dataclass(frozen=True, slots=True)
class ReminderParty:
    name: str
    address: str
    country: str


def reminder_document(
    *,
    number: str,
    level: Level,
    issued_on: date,
    currency: str,
    supplier: ReminderParty,
    customer: ReminderParty,
    items: Sequence[OverdueItem],
    interest_percent: Decimal | None,
    pay_to: Mapping[str, str] | None,
    amount: Callable[[int], str],
) -> dict[str, Any]:
    """The reminder as issued (stored, then rendered): its items, what they claim and how to pay.
    ``amount`` prints minor units in the currency."""
    assert items, "a reminder lists at least one invoice"
    open_minor = sum(item.open_minor for item in items)
    interest = sum(item.interest_minor for item in items)
    fees = sum(item.fee_minor for item in items)
    notes = [_NOTES[level]]
    if interest:
        notes.append(
            f"Interest at {interest_percent} % p.a., simple, per day late (actual/365), on the open amount. "
            "Interest and recovery costs are compensation, not consideration for a supply: no VAT."
        )
    if fees:
        notes.append("Fixed compensation for recovery costs, once per invoice (Art. 6 Directive 2011/7/EU).")
    return {
        "kind": "REMINDER",
        "number": number,
        "level": level.value,
        "title": TITLES[level],
        "issue_date": issued_on.isoformat(),
        "currency": currency,
        "supplier": {"name": supplier.name, "address": supplier.address, "country": supplier.country},
        "customer": {"name": customer.name, "address": customer.address, "country": customer.country},
        "items": [
            {
                "invoice": item.invoice_number,
                "payment_reference": item.payment_reference,
                "due_date": item.due_date.isoformat(),
                "days_late": item.days_late,
                "open": amount(item.open_minor),
                "interest": amount(item.interest_minor),
                "fee": amount(item.fee_minor),
            }
            for item in items
        ],
        "interest_percent": None if interest_percent is None else str(interest_percent),
        "totals": {
            "open": amount(open_minor),
            "interest": amount(interest),
            "fees": amount(fees),
            "due": amount(open_minor + interest + fees),
        },
        "pay_to": None if pay_to is None else dict(pay_to),
        "notes": notes,
    }
