"""How activities report failures to Temporal.

Business refusals become non-retryable ``ApplicationError``s whose ``type`` names the refusal, so the
workflow (and ops in the UI) can tell them apart; anything else is a technical fault and is retried.
A refusal that is a decision rather than something for ops to fix (an authorisation refused) is BENIGN:
the SDK logs it at DEBUG instead of as a WARNING with its traceback, and leaves it out of its failure metrics.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from domain.errors import DomainError

AUTHORISATION_REFUSED = "AuthorisationRefused"
CPO_PROTOCOL_ERROR = "CpoProtocolError"
TARIFF_INVALID = "TariffInvalid"
PRICE_IMPLAUSIBLE = "PriceImplausible"  # rated above the CPO contract's maximum claim
FX_RATE_MISSING = "FxRateMissing"
FX_RATE_STALE = "FxRateStale"
VAT_RATE_MISSING = "VatRateMissing"
VAT_REGISTRATION_MISSING = "VatRegistrationMissing"
COUNTRY_UNKNOWN = "CountryUnknown"
CONTRACT_TERMS_INVALID = "ContractTermsInvalid"
EINVOICE_INVALID = "EInvoiceInvalid"  # a document's e-invoice fails a rule: it is not issued
IDEMPOTENCY_CONFLICT = "IdempotencyConflict"
# Refusals that stop a settlement until ops fix the cause (a rate, a contract, a VAT registration) and
# retry it.
SETTLEMENT_REFUSALS = (
    FX_RATE_MISSING,
    FX_RATE_STALE,
    VAT_RATE_MISSING,
    VAT_REGISTRATION_MISSING,
    COUNTRY_UNKNOWN,
    CONTRACT_TERMS_INVALID,
    IDEMPOTENCY_CONFLICT,
    EINVOICE_INVALID,
)
NON_RETRYABLE_TYPES = (
    AUTHORISATION_REFUSED,
    CPO_PROTOCOL_ERROR,
    TARIFF_INVALID,
    PRICE_IMPLAUSIBLE,
    *SETTLEMENT_REFUSALS,
)


# Outcomes, not incidents: the session ends REJECTED with its reason, nothing waits for ops.
BENIGN_TYPES = (AUTHORISATION_REFUSED,)


def refusal(error: DomainError, type_: str) -> ApplicationError:
    category = ApplicationErrorCategory.BENIGN if type_ in BENIGN_TYPES else ApplicationErrorCategory.UNSPECIFIED
    return ApplicationError(str(error), type=type_, non_retryable=True, category=category)
