"""Bank accounts payouts are sent to and from: IBAN and BIC checked by ``schwifty`` (checksums, country
formats, the BIC registry), never by a hand-written pattern."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from domain.errors import DomainError

if TYPE_CHECKING:  # domain.partners checks bank details with this module
    from domain.partners import PostalAddress


class BankDetailsInvalid(DomainError):
    code = "BANK_DETAILS_INVALID"


@dataclass(frozen=True, slots=True)
class BankAccount:
    holder: str
    country: str  # the holder's country, ISO 3166-1 alpha-2
    iban: str  # electronic form: no spaces, upper case
    bic: str
    address: PostalAddress | None = None  # the holder's, as payment files carry it (None: not on file)


class AddressMissing(DomainError):
    """A payment file needs the party's town and country (EPC 2025, SPS 2025): none on file, nothing sent."""

    code = "ADDRESS_MISSING"


def bank_account(
    holder: str, country: str, iban: str | None, bic: str | None, address: PostalAddress | None = None
) -> BankAccount:
    """A checked account; the BIC may be left out where the IBAN's bank code names it."""
    if not iban:
        raise BankDetailsInvalid(f"{holder} has no IBAN on file")
    try:
        checked = IBAN(iban)
    except SchwiftyException as error:
        raise BankDetailsInvalid(f"{holder}'s IBAN {iban!r} is not valid: {error}") from error
    try:
        checked_bic = BIC(bic) if bic else checked.bic
    except SchwiftyException as error:
        raise BankDetailsInvalid(f"{holder}'s BIC {bic!r} is not valid: {error}") from error
    if checked_bic is None:
        raise BankDetailsInvalid(f"{holder} has no BIC on file and its IBAN's bank code names none")
    if bic and checked.bic is not None and checked.bic.compact[:6] != checked_bic.compact[:6]:
        raise BankDetailsInvalid(f"{holder}'s BIC {bic} is not the bank of IBAN {checked.formatted}")
    return BankAccount(
        holder=holder, country=country.upper(), iban=checked.compact, bic=checked_bic.compact, address=address
    )


def payable_account(account: BankAccount) -> BankAccount:
    """The account, if a payment file may name its holder: a postal address with a town on file."""
    if account.address is None or not account.address.city.strip():
        raise AddressMissing(
            f"{account.holder} has no postal address (town and country) on file: payment files need one since "
            "15 Nov 2026; add it to its company details (a CPO's: partners cpo-terms --street --postcode --city)"
        )
    return account
