"""Who is calling: a demand partner (by its API key) or a CPO (by its OCPI credentials), as the doors and
the application layer see them. Loaded by the repositories; never an ORM row."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemandPartner:
    id: str
    billing_currency: str


@dataclass(frozen=True, slots=True)
class Cpo:
    id: str
    country_code: str  # its OCPI party: country code and party id
    party_id: str
    active: bool

    def is_party(self, country_code: str, party_id: str) -> bool:
        """Whether an OCPI object's ``country_code``/``party_id`` name this CPO (OCPI ids ignore case)."""
        return (country_code.upper(), party_id.upper()) == (self.country_code.upper(), self.party_id.upper())
