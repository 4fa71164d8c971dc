from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AuthorisationRefused, RefusalReason
from domain.sessions.authorisation import (
    Authorisation,
    ConnectorFacts,
    DemandPartnerFacts,
    EffectiveVersion,
    EvseFacts,
    authorise,
    in_force,
)

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
OPEN = EffectiveVersion(key=1, version=1, effective_from=AT - timedelta(days=30), effective_to=None)
PARTNER = DemandPartnerFacts("dp-1", active=True)
EVSE = EvseFacts("DE*STN*E1", "AVAILABLE", "cpo-1", cpo_active=True)
ENDED = EffectiveVersion(key=7, version=1, effective_from=AT - timedelta(days=60), effective_to=AT)


def evse(status: str) -> EvseFacts:
    return EvseFacts("DE*STN*E1", status, "cpo-1", cpo_active=True)


def decide(**overrides: object) -> Authorisation:
    facts: dict[str, object] = {
        "demand_partner": PARTNER,
        "evse": EVSE,
        "demand_partner_contracts": [OPEN],
        "cpo_contracts": [OPEN],
        "connectors": [ConnectorFacts("1", [[OPEN]])],
        "at": AT,
    }
    facts.update(overrides)
    return authorise(**facts)  # type: ignore[arg-type]


def test_a_session_with_everything_in_force_is_authorised() -> None:
    decision = decide()
    assert decision is not None


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"demand_partner": None}, RefusalReason.UNKNOWN_DEMAND_PARTNER),
        ({"demand_partner": DemandPartnerFacts("dp-1", active=False)}, RefusalReason.DEMAND_PARTNER_INACTIVE),
        ({"demand_partner_contracts": []}, RefusalReason.NO_DEMAND_PARTNER_CONTRACT),
        ({"evse": None}, RefusalReason.UNKNOWN_EVSE),
        ({"evse": EvseFacts("X", "AVAILABLE", "cpo-1", cpo_active=False)}, RefusalReason.CPO_INACTIVE),
        ({"evse": evse("REMOVED")}, RefusalReason.EVSE_REMOVED),
        ({"evse": evse("OUTOFORDER")}, RefusalReason.EVSE_OUT_OF_ORDER),
        ({"evse": evse("INOPERATIVE")}, RefusalReason.EVSE_INOPERATIVE),
        ({"evse": evse("PLANNED")}, RefusalReason.EVSE_UNAVAILABLE),
        ({"evse": evse("UNKNOWN")}, RefusalReason.EVSE_UNAVAILABLE),
        ({"cpo_contracts": []}, RefusalReason.NO_CPO_CONTRACT),
        ({"connectors": []}, RefusalReason.NO_TARIFF_IN_FORCE),
        ({"connectors": [ConnectorFacts("1", [])]}, RefusalReason.NO_TARIFF_IN_FORCE),
        ({"connectors": [ConnectorFacts("1", [[ENDED]])]}, RefusalReason.NO_TARIFF_IN_FORCE),
    ],
)
def test_each_refusal_names_its_reason(overrides: dict[str, object], reason: RefusalReason) -> None:
    with pytest.raises(AuthorisationRefused) as refused:
        decide(**overrides)
    assert refused.value.reason == reason
    assert str(refused.value).startswith(reason.value)


def test_the_first_connector_with_a_tariff_in_force_and_its_first_such_tariff_are_chosen() -> None:
    second = EffectiveVersion(key=2, version=1, effective_from=AT - timedelta(days=1), effective_to=None)
    third = EffectiveVersion(key=3, version=1, effective_from=AT - timedelta(days=1), effective_to=None)
    decision = decide(connectors=[ConnectorFacts("1", [[ENDED]]), ConnectorFacts("2", [[ENDED], [second], [third]])])
    assert (decision.connector_id, decision.tariff) == ("2", second)


def test_a_contract_that_ended_or_has_not_begun_is_not_in_force() -> None:
    ended = EffectiveVersion(1, 1, AT - timedelta(days=60), AT - timedelta(days=1))
    future = EffectiveVersion(2, 2, AT + timedelta(seconds=1), None)
    assert in_force([ended, future], AT) is None
    with pytest.raises(AuthorisationRefused) as refused:
        decide(cpo_contracts=[ended, future])
    assert refused.value.reason == RefusalReason.NO_CPO_CONTRACT


def test_the_end_of_a_version_is_exclusive_and_its_start_inclusive() -> None:
    version = EffectiveVersion(1, 1, AT, AT + timedelta(days=1))
    assert in_force([version], AT) == version
    assert in_force([version], AT + timedelta(days=1)) is None


def test_the_newest_version_in_force_wins() -> None:
    v1 = EffectiveVersion(1, 1, AT - timedelta(days=10), None)
    v2 = EffectiveVersion(2, 2, AT - timedelta(days=1), None)
    v3 = EffectiveVersion(3, 3, AT + timedelta(days=1), None)
    assert in_force([v3, v1, v2], AT) == v2


@given(
    st.lists(
        st.tuples(st.integers(-100, 100), st.integers(1, 50), st.booleans()),
        max_size=8,
    ),
    st.integers(-100, 100),
)
def test_in_force_returns_only_versions_effective_at_that_moment(
    spans: list[tuple[int, int, bool]], at_day: int
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    versions = [
        EffectiveVersion(
            i, i, base + timedelta(days=start), None if open_ended else base + timedelta(days=start + length)
        )
        for i, (start, length, open_ended) in enumerate(spans)
    ]
    at = base + timedelta(days=at_day)
    chosen = in_force(versions, at)
    effective = [v for v in versions if v.effective_from <= at and (v.effective_to is None or at < v.effective_to)]
    if not effective:
        assert chosen is None
    else:
        assert chosen is not None
        assert chosen.version == max(v.version for v in effective)
