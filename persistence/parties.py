"""The parties of a settlement as the domain reads them, mapped from their rows: the CPO as an OCPI party,
and each party as it appears on an invoice (``TaxParty``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.invoicing.payment import DEFAULT_PAYMENT_TERMS_DAYS
from domain.parties import Cpo
from domain.partners import PostalAddress
from domain.settlement.contracts import InvoicingTerms, invoicing_terms
from domain.vat.treatment import TaxParty
from persistence.tables import ContractRow, CpoRow, DemandPartnerRow


def as_cpo(row: CpoRow) -> Cpo:
    return Cpo(id=row.id, country_code=row.country_code, party_id=row.party_id, active=row.active)


def postal_address(row: CpoRow | DemandPartnerRow) -> PostalAddress | None:
    """The party's structured address; None without a town (a CPO whose line 0024 could not parse)."""
    if not row.city:
        return None
    return PostalAddress(
        street=row.street or "", postal_code=row.postal_code or "", city=row.city, building_number=row.building_number
    )


def set_postal_address(row: CpoRow | DemandPartnerRow, address: PostalAddress | None) -> None:
    """Store the address in its columns, and the line invoices print."""
    row.address = None if address is None else address.line(row.country)
    row.street, row.building_number, row.postal_code, row.city = (
        (None, None, None, None)
        if address is None
        else (address.street, address.building_number, address.postal_code, address.city)
    )


def cpo_party(row: CpoRow) -> TaxParty:
    return TaxParty(
        name=row.legal_entity,
        address=row.address or "",
        country=row.country,
        vat_ids={row.country: row.vat_id} if row.vat_id else {},
        postal_address=postal_address(row),
    )


def partner_party(
    partner: DemandPartnerRow, *, taxable_dealer: bool, payment_terms_days: int = DEFAULT_PAYMENT_TERMS_DAYS
) -> TaxParty:
    return TaxParty(
        name=partner.legal_entity,
        address=partner.address or "",
        country=partner.country,
        vat_ids={partner.country: partner.vat_id} if partner.vat_id else {},
        taxable_dealer=taxable_dealer,
        postal_address=postal_address(partner),
        payment_terms_days=payment_terms_days,
    )


def invoiced_partner_party(partner: DemandPartnerRow, terms: InvoicingTerms) -> TaxParty:
    """The partner as the customer of an invoice under its contract's invoicing terms."""
    return partner_party(partner, taxable_dealer=terms.taxable_dealer, payment_terms_days=terms.payment_terms_days)


def latest_partner_party(db: Session, partner_id: str) -> TaxParty:
    """The partner as a customer, a taxable dealer or not and with the payment terms its latest contract
    version says: the customer of its monthly statements."""
    terms = db.scalar(
        select(ContractRow.terms)
        .where(ContractRow.party_kind == "DEMAND_PARTNER", ContractRow.party_id == partner_id)
        .order_by(ContractRow.version.desc())
        .limit(1)
    )
    invoicing = InvoicingTerms() if terms is None else invoicing_terms(terms)
    return invoiced_partner_party(db.get_one(DemandPartnerRow, partner_id), invoicing)
