"""The bounds on what any CDR may claim: within them a CDR passes; past any of them it is refused, and the
refusal names every field past its bound."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import CdrRejected
from domain.sessions.cdr_bounds import MAX_COST, MAX_ENERGY_KWH, MAX_HOURS, MAX_VOLUME, CdrFigures, check_cdr_bounds
from domain.sessions.cdr_checks import CLOCK_SKEW_TOLERANCE

RECEIVED_AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def amounts(low: Decimal, high: Decimal) -> st.SearchStrategy[Decimal]:
    return st.decimals(low, high, places=4)


A_CDR = CdrFigures(
    credit=False,
    end=RECEIVED_AT - timedelta(minutes=1),
    energy_kwh=Decimal("20.5"),
    hours=(("total_time", Decimal("0.6667")),),
    costs=(("total_cost.excl_vat", Decimal("12.10")),),
    volumes=(("charging_periods[0].dimensions[0].volume", Decimal("20.5")),),
)


def figures(credit: bool = False, **changes: Any) -> CdrFigures:
    """A plausible CDR (its credit: the costs negated), with ``changes``."""
    costs = (("total_cost.excl_vat", Decimal("-12.10")),) if credit else A_CDR.costs
    return replace(A_CDR, credit=credit, costs=changes.pop("costs", costs), **changes)


@given(
    st.booleans(),
    amounts(Decimal(0), MAX_ENERGY_KWH),
    amounts(Decimal(0), MAX_HOURS),
    amounts(Decimal(0), MAX_COST),
    amounts(-MAX_VOLUME, MAX_VOLUME),
)
def test_a_cdr_within_every_bound_passes(
    credit: bool, energy: Decimal, hours: Decimal, cost: Decimal, volume: Decimal
) -> None:
    check_cdr_bounds(
        figures(
            credit,
            energy_kwh=energy,
            hours=(("total_time", hours),),
            costs=(("total_cost.excl_vat", -cost if credit else cost),),
            volumes=(("charging_periods[0].dimensions[0].volume", volume),),
        ),
        received_at=RECEIVED_AT,
    )


@given(st.booleans(), amounts(MAX_COST + Decimal("0.0001"), MAX_COST * 1000), st.booleans())
def test_a_cost_past_the_bound_is_refused_naming_its_field(credit: bool, beyond: Decimal, negative: bool) -> None:
    amount = -beyond if negative else beyond
    with pytest.raises(CdrRejected) as refused:
        check_cdr_bounds(figures(credit, costs=(("total_parking_cost.incl_vat", amount),)), received_at=RECEIVED_AT)
    assert refused.value.problems == [f"total_parking_cost.incl_vat: {amount} is beyond {MAX_COST}"]


@given(st.booleans(), amounts(Decimal("0.0001"), MAX_COST))
def test_a_cost_of_the_wrong_sign_is_refused(credit: bool, magnitude: Decimal) -> None:
    amount = magnitude if credit else -magnitude
    with pytest.raises(
        CdrRejected, match=r"^total_cost\.excl_vat: .* must be (negative on a credit|positive on a non-credit) CDR$"
    ):
        check_cdr_bounds(figures(credit, costs=(("total_cost.excl_vat", amount),)), received_at=RECEIVED_AT)


def test_every_field_past_its_bound_is_named() -> None:
    with pytest.raises(CdrRejected) as refused:
        check_cdr_bounds(
            figures(
                energy_kwh=Decimal(-1),
                hours=(("total_time", Decimal(1)), ("total_parking_time", MAX_HOURS + 1)),
                volumes=(("charging_periods[2].dimensions[1].volume", MAX_VOLUME + 1),),
            ),
            received_at=RECEIVED_AT,
        )
    assert refused.value.problems == [
        f"total_energy: -1 kWh is not between 0 and {MAX_ENERGY_KWH}",
        f"total_parking_time: {MAX_HOURS + 1} h is not between 0 and {MAX_HOURS}",
        f"charging_periods[2].dimensions[1].volume: {MAX_VOLUME + 1} is beyond {MAX_VOLUME}",
    ]


@given(st.timedeltas(timedelta(0), CLOCK_SKEW_TOLERANCE), st.booleans())
def test_a_cdr_ending_within_the_clock_tolerance_passes(ahead: timedelta, credit: bool) -> None:
    check_cdr_bounds(figures(credit, end=RECEIVED_AT + ahead), received_at=RECEIVED_AT)


@given(st.timedeltas(CLOCK_SKEW_TOLERANCE + timedelta(microseconds=1), timedelta(days=3650)), st.booleans())
def test_a_cdr_ending_in_the_future_is_refused(ahead: timedelta, credit: bool) -> None:
    with pytest.raises(CdrRejected) as refused:
        check_cdr_bounds(figures(credit, end=RECEIVED_AT + ahead), received_at=RECEIVED_AT)
    assert refused.value.problems == [
        f"end_date_time: {(RECEIVED_AT + ahead).isoformat()} is in the future (received {RECEIVED_AT.isoformat()})"
    ]
