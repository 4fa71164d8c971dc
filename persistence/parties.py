"""The parties of a settlement as the domain reads them, mapped from their rows: the CPO as an OCPI party,
and each party as it appears on an invoice (``TaxParty``)."""

from __future__ import annotations

from domain.parties import Cpo
from domain.vat.treatment import TaxParty
from persistence.tables import CpoRow, DemandPartnerRow


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
