"""Stage 4: does a CDR belong to its session and make sense on its own?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from domain.errors import CdrRejected

# Clocks of CPO back ends drift; a CDR may start a little before we asked for the session.
CLOCK_SKEW_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ExpectedSession:
    """What we know of the session the CDR claims to settle."""

    session_id: str
    cpo_country_code: str
    cpo_party_id: str
    evse_uid: str
    currency: str
    requested_at: datetime
    cpo_session_id: str | None  # known once the CPO reported its Session


@dataclass(frozen=True, slots=True)
class CdrPeriod:
    start: datetime
    volumes: tuple[tuple[str, Decimal], ...]  # (dimension type, volume)


@dataclass(frozen=True, slots=True)
class CdrFacts:
    cdr_id: str
    country_code: str
    party_id: str
    session_id: str | None
    authorization_reference: str | None
    evse_uid: str
    currency: str
    start: datetime
    end: datetime
    total_energy_kwh: Decimal
    total_time_h: Decimal
    total_parking_time_h: Decimal | None
    periods: tuple[CdrPeriod, ...]


def cdr_problems(cdr: CdrFacts, expected: ExpectedSession) -> list[str]:
    """Every reason the CDR cannot settle the session (empty when it fits)."""
    problems: list[str] = []
    if (cdr.country_code.upper(), cdr.party_id.upper()) != (
        expected.cpo_country_code.upper(),
        expected.cpo_party_id.upper(),
    ):
        problems.append(
            f"CDR is from {cdr.country_code}*{cdr.party_id}, the session is with "
            f"{expected.cpo_country_code}*{expected.cpo_party_id}"
        )
    # The ids are OCPI CiStrings: the same in any case.
    if cdr.authorization_reference is not None and cdr.authorization_reference.upper() != expected.session_id.upper():
        problems.append(f"authorization_reference {cdr.authorization_reference} is not session {expected.session_id}")
    cpo_session_id = expected.cpo_session_id
    if cpo_session_id is not None and cdr.session_id is not None and cdr.session_id.upper() != cpo_session_id.upper():
        problems.append(f"session_id {cdr.session_id} is not the CPO session {expected.cpo_session_id}")
    if cdr.evse_uid.upper() != expected.evse_uid.upper():
        problems.append(f"EVSE {cdr.evse_uid} is not the session's EVSE {expected.evse_uid}")
    if cdr.currency.upper() != expected.currency.upper():
        problems.append(f"currency {cdr.currency} is not the tariff currency {expected.currency}")
    if cdr.end < cdr.start:
        problems.append("end_date_time is before start_date_time")
    if cdr.start < expected.requested_at - CLOCK_SKEW_TOLERANCE:
        problems.append("start_date_time is before the session was requested")
    for label, value in (
        ("total_energy", cdr.total_energy_kwh),
        ("total_time", cdr.total_time_h),
        ("total_parking_time", cdr.total_parking_time_h),
    ):
        if value is not None and value < 0:
            problems.append(f"{label} is negative")
    if not cdr.periods:
        problems.append("charging_periods is empty")
    previous_start: datetime | None = None
    for index, period in enumerate(cdr.periods):
        if not cdr.start <= period.start <= cdr.end:
            problems.append(f"charging_periods[{index}] starts outside the session")
        if previous_start is not None and period.start < previous_start:
            problems.append(f"charging_periods[{index}] is out of order")
        previous_start = period.start
        problems.extend(
            f"charging_periods[{index}] has a negative {dimension} volume"
            for dimension, volume in period.volumes
            if volume < 0
        )
    return problems


def check_cdr(cdr: CdrFacts, expected: ExpectedSession) -> None:
    """Raise ``CdrRejected`` listing every problem, or return when the CDR fits its session."""
    problems = cdr_problems(cdr, expected)
    if problems:
        raise CdrRejected(problems)
