"""The domain's refusals, drawn as a tree.

* DomainError                 a business rule said no; never retried
  + AuthorisationRefused      a session may not start (reason: RefusalReason)
  + CdrRejected               a CDR does not fit its session (problems: list of human-readable reasons)

Programmer errors are ``assert``s and are allowed to crash: in an activity that is a retryable
technical fault, in workflow code it stalls the task until the code is fixed, so a broken
invariant never writes bad money.
"""

from __future__ import annotations

from enum import StrEnum


class DomainError(Exception):
    """A business rule refused the operation. ``code`` is stable and machine-readable."""

    code: str = "DOMAIN_ERROR"


class RefusalReason(StrEnum):
    UNKNOWN_DEMAND_PARTNER = "UNKNOWN_DEMAND_PARTNER"
    DEMAND_PARTNER_INACTIVE = "DEMAND_PARTNER_INACTIVE"
    NO_DEMAND_PARTNER_CONTRACT = "NO_DEMAND_PARTNER_CONTRACT"
    UNKNOWN_EVSE = "UNKNOWN_EVSE"
    EVSE_REMOVED = "EVSE_REMOVED"  # the CPO retired it (OCPI REMOVED): it stays known, never usable again
    EVSE_OUT_OF_ORDER = "EVSE_OUT_OF_ORDER"  # OCPI OUTOFORDER: broken
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE"  # OCPI INOPERATIVE: not in service for now, not broken
    EVSE_UNAVAILABLE = "EVSE_UNAVAILABLE"  # any other status a start cannot succeed in (PLANNED, UNKNOWN)
    CPO_INACTIVE = "CPO_INACTIVE"
    NO_CPO_CONTRACT = "NO_CPO_CONTRACT"
    NO_TARIFF_IN_FORCE = "NO_TARIFF_IN_FORCE"
    CONTRACT_TERMS_INVALID = "CONTRACT_TERMS_INVALID"  # the partner's contract lacks usable credit terms
    CREDIT_LIMIT_EXCEEDED = "CREDIT_LIMIT_EXCEEDED"  # the session's hold would pass the partner's credit limit
    OVERDUE = "OVERDUE"  # an invoice of the partner is open past its due date and grace period


class AuthorisationRefused(DomainError):
    code = "AUTHORISATION_REFUSED"

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class CdrRejected(DomainError):
    code = "CDR_REJECTED"

    def __init__(self, problems: list[str]) -> None:
        assert problems, "a rejection needs at least one reason"
        super().__init__("; ".join(problems))
        self.problems = problems
