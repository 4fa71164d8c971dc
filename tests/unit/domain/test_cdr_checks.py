from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import CdrRejected
from domain.sessions.cdr_checks import CdrFacts, CdrPeriod, ExpectedSession, cdr_problems, check_cdr

START = datetime(2026, 6, 1, 12, tzinfo=UTC)
EXPECTED = ExpectedSession(
    session_id="s-1",
    cpo_country_code="DE",
    cpo_party_id="STN",
    evse_uid="BER-1",
    currency="EUR",
    requested_at=START - timedelta(minutes=1),
    cpo_session_id="cpo-s-1",
)
GOOD = CdrFacts(
    cdr_id="cdr-1",
    country_code="DE",
    party_id="STN",
    session_id="cpo-s-1",
    authorization_reference="s-1",
    evse_uid="BER-1",
    currency="EUR",
    start=START,
    end=START + timedelta(hours=1),
    total_energy_kwh=Decimal("42.5"),
    total_time_h=Decimal("1"),
    total_parking_time_h=Decimal("0"),
    periods=(
        CdrPeriod(START, (("ENERGY", Decimal("30")), ("TIME", Decimal("0.5")))),
        CdrPeriod(START + timedelta(minutes=30), (("ENERGY", Decimal("12.5")), ("TIME", Decimal("0.5")))),
    ),
)


def test_a_cdr_that_fits_its_session_passes() -> None:
    assert cdr_problems(GOOD, EXPECTED) == []
    check_cdr(GOOD, EXPECTED)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"party_id": "XXX"}, "CDR is from DE*XXX"),
        ({"authorization_reference": "s-2"}, "authorization_reference s-2"),
        ({"session_id": "other"}, "session_id other"),
        ({"evse_uid": "BER-9"}, "EVSE BER-9"),
        ({"currency": "CHF"}, "currency CHF"),
        ({"end": START - timedelta(seconds=1)}, "end_date_time is before start_date_time"),
        ({"start": START - timedelta(hours=2)}, "before the session was requested"),
        ({"total_energy_kwh": Decimal("-0.1")}, "total_energy is negative"),
        ({"total_parking_time_h": Decimal("-1")}, "total_parking_time is negative"),
        ({"periods": ()}, "charging_periods is empty"),
        (
            {"periods": (CdrPeriod(START + timedelta(hours=3), (("ENERGY", Decimal(1)),)),)},
            "charging_periods[0] starts outside the session",
        ),
        (
            {"periods": (CdrPeriod(START, (("ENERGY", Decimal(-1)),)),)},
            "charging_periods[0] has a negative ENERGY volume",
        ),
        (
            {
                "periods": (
                    CdrPeriod(START + timedelta(minutes=10), (("ENERGY", Decimal(1)),)),
                    CdrPeriod(START, (("ENERGY", Decimal(1)),)),
                )
            },
            "charging_periods[1] is out of order",
        ),
    ],
)
def test_each_misfit_is_named(change: dict[str, object], problem: str) -> None:
    cdr = replace(GOOD, **change)  # type: ignore[arg-type]
    problems = cdr_problems(cdr, EXPECTED)
    assert any(problem in p for p in problems), problems
    with pytest.raises(CdrRejected) as rejected:
        check_cdr(cdr, EXPECTED)
    assert rejected.value.problems == problems


def test_party_and_currency_compare_case_insensitively() -> None:
    assert cdr_problems(replace(GOOD, party_id="stn", currency="eur"), EXPECTED) == []


def test_a_cdr_without_a_session_id_is_matched_by_reference_alone() -> None:
    assert cdr_problems(replace(GOOD, session_id=None), EXPECTED) == []


def test_every_problem_is_reported_at_once() -> None:
    problems = cdr_problems(replace(GOOD, currency="CHF", evse_uid="X", total_time_h=Decimal(-1)), EXPECTED)
    assert len(problems) == 3
