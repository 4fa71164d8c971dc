"""The parties of a settlement as the domain reads them, mapped from their rows: the CPO as an OCPI party,
and each party as it appears on an invoice (``TaxParty``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.parties import Cpo
from domain.settlement.contracts import invoicing_terms
from domain.vat.treatment import TaxParty
from persistence.tables import ContractRow, CpoRow, DemandPartnerRow


def as_cpo(row: CpoRow) -> Cpo:
    return Cpo(id=row.id, country_code=row.country_code, party_id=row.party_id, active=row.active)


def cpo_party(row: CpoRow) -> TaxParty:
    return TaxParty(
        name=row.legal_entity,
        address=row.address or "",
        country=row.country,
        vat_ids={row.country: row.vat_id} if row.vat_id else {},
    )


def partner_party(partner: DemandPartnerRow, *, taxable_dealer: bool) -> TaxParty:
    return TaxParty(
        name=partner.legal_entity,
        address=partner.address or "",
        country=partner.country,
        vat_ids={partner.country: partner.vat_id} if partner.vat_id else {},
        taxable_dealer=taxable_dealer,
    )


def latest_partner_party(db: Session, partner_id: str) -> TaxParty:
    """The partner as a customer, a taxable dealer or not as its latest contract version says: the
    customer of its monthly statements."""
    terms = db.scalar(
        select(ContractRow.terms)
        .where(ContractRow.party_kind == "DEMAND_PARTNER", ContractRow.party_id == partner_id)
        .order_by(ContractRow.version.desc())
        .limit(1)
    )
    taxable_dealer = terms is not None and invoicing_terms(terms).taxable_dealer
    return partner_party(db.get_one(DemandPartnerRow, partner_id), taxable_dealer=taxable_dealer)
