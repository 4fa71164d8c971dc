"""When a payee is paid: its contract's payout schedule, and the next release time it gives.

Contract section (CPO and demand-partner contracts alike; times are UTC)::

    "payout": {"schedule": "WEEKLY", "weekday": "MONDAY", "time": "06:00",
               "minimum": {"EUR": "50.00", "CHF": "50.00"}}

``schedule`` is INSTANT (each session as it settles), DAILY, WEEKLY (``weekday``) or MONTHLY (``day``,
1 to 28 so that every month has it). A currency without a ``minimum`` has none. A contract without
a payout section is paid DAILY at 06:00 with no minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum


class PayoutFrequency(StrEnum):
    INSTANT = "INSTANT"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


class Weekday(IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


LAST_SAFE_MONTH_DAY = 28
DEFAULT_RELEASE_TIME = time(6, 0)


@dataclass(frozen=True, slots=True)
class PayoutSchedule:
    frequency: PayoutFrequency = PayoutFrequency.DAILY
    at: time = DEFAULT_RELEASE_TIME  # UTC
    weekday: Weekday = Weekday.MONDAY  # WEEKLY only
    day: int = 1  # MONTHLY only
    minimum: dict[str, Decimal] = field(default_factory=dict)  # per currency; absent means none

    def __post_init__(self) -> None:
        assert 1 <= self.day <= LAST_SAFE_MONTH_DAY, "every month has days 1 to 28"
        assert self.at.tzinfo is None, "release times are UTC wall-clock times"

    def minimum_for(self, currency: str) -> Decimal:
        return self.minimum.get(currency, Decimal(0))


def next_release(schedule: PayoutSchedule, after: datetime) -> datetime:
    """The first release strictly after ``after`` (an aware UTC time); INSTANT releases at once."""
    assert after.tzinfo is not None, "an aware time"
    if schedule.frequency == PayoutFrequency.INSTANT:
        return after
    candidate = datetime.combine(after.date(), schedule.at, after.tzinfo)
    if schedule.frequency == PayoutFrequency.DAILY:
        return candidate if candidate > after else candidate + timedelta(days=1)
    if schedule.frequency == PayoutFrequency.WEEKLY:
        candidate += timedelta(days=(schedule.weekday - candidate.weekday()) % 7)
        return candidate if candidate > after else candidate + timedelta(days=7)
    candidate = candidate.replace(day=schedule.day)
    if candidate <= after:
        year, month = divmod(candidate.month, 12)  # month is 1-based: divmod gives the next one 0-based
        candidate = candidate.replace(year=candidate.year + year, month=month + 1)
    return candidate
