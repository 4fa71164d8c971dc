"""The rate limit of every party whose contract sets one (``rate_limit`` in its latest contract terms)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.rate_limits import RateLimit, RateLimitTermsInvalid, rate_limit_terms
from persistence.contract_terms import PartyKind, latest_terms_by_party
from persistence.db import SessionFactory

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContractRateLimits:
    partners: dict[str, RateLimit]  # demand partner id -> its session starts
    cpos: dict[str, RateLimit]  # CPO id -> its OCPI messages


def contract_rate_limits(
    reads: SessionFactory, *, partner_default: RateLimit, cpo_default: RateLimit
) -> ContractRateLimits:
    """Parties without a ``rate_limit`` get the default; a malformed one is logged and gets the default
    too (the contract is ops' to fix; refusing all of the party's traffic would punish the partner)."""

    def limits(kind: PartyKind, default: RateLimit) -> dict[str, RateLimit]:
        found: dict[str, RateLimit] = {}
        for party_id, terms in latest_terms_by_party(db, kind).items():
            try:
                found[party_id] = rate_limit_terms(terms, default)
            except RateLimitTermsInvalid as invalid:
                log.warning("contract of %s %s: %s; the default rate limit applies", kind, party_id, invalid)
        return found

    with reads() as db:
        return ContractRateLimits(limits("DEMAND_PARTNER", partner_default), limits("CPO", cpo_default))
