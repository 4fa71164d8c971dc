"""Stage 1: may this session start? A pure decision over facts loaded by the caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.errors import AuthorisationRefused, RefusalReason

# OCPI EVSE statuses in which a remote start can succeed.
STARTABLE_EVSE_STATUSES = frozenset({"AVAILABLE", "CHARGING", "BLOCKED", "RESERVED"})
# The statuses that say why an EVSE cannot be used; any other unstartable one is EVSE_UNAVAILABLE.
UNUSABLE_EVSE_STATUSES = {
    "REMOVED": RefusalReason.EVSE_REMOVED,
    "OUTOFORDER": RefusalReason.EVSE_OUT_OF_ORDER,
    "INOPERATIVE": RefusalReason.EVSE_INOPERATIVE,
}


@dataclass(frozen=True, slots=True)
class DemandPartnerFacts:
    id: str
    active: bool


@dataclass(frozen=True, slots=True)
class EvseFacts:
    evse_id: str
    status: str
    cpo_id: str
    cpo_active: bool


@dataclass(frozen=True, slots=True)
class ConnectorFacts:
    connector_id: str
    tariffs: Sequence[Sequence[EffectiveVersion]]  # the versions of each of its tariff ids, in the CPO's order


@dataclass(frozen=True, slots=True)
class EffectiveVersion:
    """Anything versioned and effective-dated: a contract or a tariff version."""

    key: int  # the row that holds this version
    version: int
    effective_from: datetime
    effective_to: datetime | None  # exclusive; None = open-ended


def in_force(versions: Sequence[EffectiveVersion], at: datetime) -> EffectiveVersion | None:
    """The version in force at ``at``: effective then, and the latest version among those that are."""
    candidates = [v for v in versions if v.effective_from <= at and (v.effective_to is None or at < v.effective_to)]
    return max(candidates, key=lambda v: (v.version, v.effective_from), default=None)


@dataclass(frozen=True, slots=True)
class Authorisation:
    """What a session is held to for its whole life: the versions in force when it started."""

    demand_partner_contract: EffectiveVersion
    cpo_contract: EffectiveVersion
    tariff: EffectiveVersion
    connector_id: str  # the connector the session starts on, whose tariff it is


def connector_tariff(connectors: Sequence[ConnectorFacts], at: datetime) -> tuple[str, EffectiveVersion] | None:
    """The first connector with a tariff in force at ``at``, and the first of its tariffs in force. OCPI leaves
    the priority of a connector's tariffs open; the CPO's order decides. No tariff ids is no price, not free."""
    for connector in connectors:
        for versions in connector.tariffs:
            tariff = in_force(versions, at)
            if tariff is not None:
                return connector.connector_id, tariff
    return None


def authorise(
    *,
    demand_partner: DemandPartnerFacts | None,
    evse: EvseFacts | None,
    demand_partner_contracts: Sequence[EffectiveVersion],
    cpo_contracts: Sequence[EffectiveVersion],
    connectors: Sequence[ConnectorFacts],
    at: datetime,
) -> Authorisation:
    """Decide whether a session may start at ``at``; raise ``AuthorisationRefused`` with the first reason."""
    if demand_partner is None:
        raise AuthorisationRefused(RefusalReason.UNKNOWN_DEMAND_PARTNER, "no such demand partner")
    if not demand_partner.active:
        raise AuthorisationRefused(
            RefusalReason.DEMAND_PARTNER_INACTIVE, f"demand partner {demand_partner.id} is not active"
        )
    dp_contract = in_force(demand_partner_contracts, at)
    if dp_contract is None:
        raise AuthorisationRefused(
            RefusalReason.NO_DEMAND_PARTNER_CONTRACT,
            f"demand partner {demand_partner.id} has no contract in force at {at.isoformat()}",
        )
    if evse is None:
        raise AuthorisationRefused(RefusalReason.UNKNOWN_EVSE, "no such EVSE on the network")
    if not evse.cpo_active:
        raise AuthorisationRefused(RefusalReason.CPO_INACTIVE, f"the operator of {evse.evse_id} is not active")
    if evse.status in UNUSABLE_EVSE_STATUSES:
        raise AuthorisationRefused(UNUSABLE_EVSE_STATUSES[evse.status], f"EVSE {evse.evse_id} is {evse.status}")
    if evse.status not in STARTABLE_EVSE_STATUSES:
        raise AuthorisationRefused(
            RefusalReason.EVSE_UNAVAILABLE, f"EVSE {evse.evse_id} is {evse.status}, not available"
        )
    cpo_contract = in_force(cpo_contracts, at)
    if cpo_contract is None:
        raise AuthorisationRefused(
            RefusalReason.NO_CPO_CONTRACT, f"CPO {evse.cpo_id} has no contract in force at {at.isoformat()}"
        )
    chosen = connector_tariff(connectors, at)
    if chosen is None:
        raise AuthorisationRefused(
            RefusalReason.NO_TARIFF_IN_FORCE,
            f"no connector of EVSE {evse.evse_id} has a tariff in force at {at.isoformat()}",
        )
    connector_id, tariff = chosen
    return Authorisation(
        demand_partner_contract=dp_contract, cpo_contract=cpo_contract, tariff=tariff, connector_id=connector_id
    )
