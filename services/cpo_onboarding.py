"""Onboarding a CPO without a database edit: the invitation (``credentials.invite_cpo``: the CPO and its
token A) with the company details and contract terms ops type in (``partners invite-cpo`` options), and
changing them later (``partners cpo-terms``: a new contract version). Every field is checked first, with
the field named (``FieldInvalid``), so nothing is written when one is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from domain.partners import (
    FieldInvalid,
    PostalAddress,
    checked_address,
    checked_bank_details,
    checked_currency,
    checked_vat_id,
)
from domain.settlement.contracts import (
    ContractTermsInvalid,
    EInvoiceParty,
    EInvoiceTerms,
    commission_terms,
    funding_terms,
    party_einvoicing,
    payout_schedule,
)
from persistence import ocpi_connections as connections
from persistence.contract_terms import latest_terms
from persistence.contracts import ensure_contract
from persistence.locations import published_counts
from persistence.parties import set_postal_address
from persistence.tables import CpoRow
from services.ocpi import credentials
from services.ocpi.credentials import Invitation


class CpoNotFound(Exception):
    pass


@dataclass(frozen=True, slots=True)
class CpoCompany:
    """Who the CPO is, as far as ops gave it; None: left as it is."""

    vat_id: str | None = None
    address: PostalAddress | None = None
    payout_currency: str | None = None
    iban: str | None = None
    bic: str | None = None


@dataclass(frozen=True, slots=True)
class CpoTerms:
    """Its contract terms, as far as ops gave them (None: as in its contract). Commission amounts are in the
    tariff's currency, the payout minimum and exposure limit in its payout currency; the payout fields are
    ``domain.payouts.schedule``'s (frequency, UTC time HH:MM, weekday, day of the month), the funding
    ``domain.payouts.funding``'s (PAY_WHEN_PAID or GUARANTEED, with an exposure limit); its e-invoice terms
    replace those of the contract that they state."""

    commission_percent: Decimal | None = None
    commission_minimum: Decimal | None = None
    commission_maximum: Decimal | None = None
    payout_frequency: str | None = None
    payout_time: str | None = None
    payout_weekday: str | None = None
    payout_day: int | None = None
    payout_minimum: Decimal | None = None
    payout_funding: str | None = None
    exposure_limit: Decimal | None = None
    einvoice: EInvoiceTerms | None = None

    @property
    def given(self) -> bool:
        return self != CpoTerms()

    def applied_to(self, contract: dict[str, Any], payout_currency: str) -> dict[str, Any]:
        """The contract's terms with these changes, checked as settlement and payouts will read them."""
        commission = dict(contract.get("commission", {}))
        payout = dict(contract.get("payout", {}))
        changes: tuple[tuple[dict[str, Any], str, object], ...] = (
            (commission, "percent", self.commission_percent),
            (commission, "minimum", self.commission_minimum),
            (commission, "maximum", self.commission_maximum),
            (payout, "schedule", self.payout_frequency),
            (payout, "time", self.payout_time),
            (payout, "weekday", self.payout_weekday),
            (payout, "day", self.payout_day),
        )
        for section, name, value in changes:
            if value is not None:
                section[name] = str(value) if isinstance(value, Decimal) else value
        if self.payout_minimum is not None:
            payout["minimum"] = {payout_currency: str(self.payout_minimum)}
        terms = contract | {"commission": commission} | ({"payout": payout} if payout else {})
        funding = self._funding(contract.get("payout_funding", {}), payout_currency)
        if funding:
            terms["payout_funding"] = funding
        if self.einvoice is not None:
            terms["einvoice"] = dict(contract.get("einvoice", {})) | self.einvoice.to_json()
        try:
            commission_terms(terms)
        except ContractTermsInvalid as error:
            raise FieldInvalid("commission", str(error)) from error
        try:
            payout_schedule(terms)
        except ContractTermsInvalid as error:
            raise FieldInvalid("payout", str(error)) from error
        try:
            funding_terms(terms)
        except ContractTermsInvalid as error:
            raise FieldInvalid("payout_funding", str(error)) from error
        return terms

    def _funding(self, current: object, payout_currency: str) -> object:
        """The contract's payout_funding with these changes: a new mode drops a limit not given with it."""
        if self.payout_funding is None and self.exposure_limit is None:
            return current
        funding = {"mode": current} if isinstance(current, str) else dict(current) if isinstance(current, dict) else {}
        if self.payout_funding is not None:
            funding = {"mode": self.payout_funding}
        if self.exposure_limit is not None:
            funding["exposure_limit"] = {payout_currency: str(self.exposure_limit)}
        return funding


@dataclass(frozen=True, slots=True)
class RegisteredCatalogue:
    """What we hold of a CPO: whether it is registered, and its locations, EVSEs and tariffs."""

    registered: bool
    locations: int
    evses: int
    tariffs: int


def invite_cpo(
    db: Session,
    country_code: str,
    party_id: str,
    name: str,
    company: CpoCompany = CpoCompany(),
    terms: CpoTerms = CpoTerms(),
    *,
    now: datetime,
    reissue: bool = False,
) -> Invitation:
    """The CPO (new, or invited again), its company details and contract, and a new token A (``reissue``: for
    a registered CPO that lost its credentials)."""
    _checked_company(country_code.strip().upper(), name, company)
    invitation = credentials.invite_cpo(db, country_code, party_id, name, now=now, reissue=reissue)
    set_cpo_terms(db, invitation.cpo_id, company, terms, now=now)
    return invitation


def set_cpo_terms(db: Session, cpo_id: str, company: CpoCompany, terms: CpoTerms, *, now: datetime) -> None:
    """Store the details given; terms given make a new contract version from ``now`` (the first version when
    it has none), sessions keeping the version in force when they started."""
    cpo = db.get(CpoRow, cpo_id)
    if cpo is None:
        raise CpoNotFound(cpo_id)
    checked = _checked_company(cpo.country, cpo.legal_entity, company)
    if checked.vat_id is not None:
        cpo.vat_id = checked.vat_id
    if checked.address is not None:
        set_postal_address(cpo, checked.address)
    if checked.payout_currency is not None:
        cpo.payout_currency = checked.payout_currency
    if checked.iban is not None:
        cpo.iban, cpo.bic = checked.iban, checked.bic
    contract = latest_terms(db, "CPO", cpo_id)
    if terms.given:
        contract = terms.applied_to(contract, cpo.payout_currency)
    _check_einvoicing(cpo, contract)
    if terms.given:
        ensure_contract(db, "CPO", cpo_id, contract, now=now, first_from=now)


def _check_einvoicing(cpo: CpoRow, contract: dict[str, Any]) -> None:
    """The CPO has what its e-invoice format needs: it is the seller of the self-billed documents issued in its
    name, and receives them."""
    party = EInvoiceParty(
        id=cpo.id,
        country=cpo.country,
        vat_id=cpo.vat_id,
        issues_in_its_name=True,
        structured_address=bool(cpo.city and cpo.postal_code),
        payout_account=bool(cpo.iban),
    )
    try:
        party_einvoicing(contract, party)
    except ContractTermsInvalid as error:
        raise FieldInvalid("einvoice", str(error)) from error


def registered_catalogue(db: Session, cpo_id: str) -> RegisteredCatalogue:
    connection = connections.connection_of(db, cpo_id)
    registered = connection is not None and connection.state == connections.ConnectionState.REGISTERED
    return RegisteredCatalogue(registered, *published_counts(db, cpo_id))


def _checked_company(country: str, holder: str, company: CpoCompany) -> CpoCompany:
    iban, bic = checked_bank_details(holder, country, company.iban, company.bic)
    return CpoCompany(
        vat_id=None if company.vat_id is None else checked_vat_id(country, company.vat_id),
        address=None if company.address is None else checked_address(company.address),
        payout_currency=None
        if company.payout_currency is None
        else checked_currency("currency", company.payout_currency),
        iban=iban,
        bic=bic,
    )
