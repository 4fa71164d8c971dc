"""How a demand partner pays its invoices, as its contract says (``collection.method``): by credit
transfer quoting the invoice's reference (the default), or collected by SEPA Direct Debit under its mandate."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from domain.errors import DomainError


class CollectionMethod(StrEnum):
    TRANSFER = "TRANSFER"
    DIRECT_DEBIT = "DIRECT_DEBIT"


class CollectionTermsInvalid(DomainError):
    code = "COLLECTION_TERMS_INVALID"


def collection_method(terms: Mapping[str, object]) -> CollectionMethod:
    """The contract's ``collection.method``; TRANSFER when it says none."""
    section = terms.get("collection", {})
    method = section.get("method", CollectionMethod.TRANSFER.value) if isinstance(section, dict) else None
    try:
        return CollectionMethod(str(method))
    except ValueError as error:
        raise CollectionTermsInvalid(f"collection.method must be TRANSFER or DIRECT_DEBIT, not {method!r}") from error
