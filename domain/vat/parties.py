"""Countries, currencies and VAT ids from the libraries that know them (pycountry, Babel, python-stdnum).

VAT ids carry their country prefix (``DE…``, ``FR…``, ``CHE-….… MWST``, ``GB…``, ``NO…MVA``); Greece's
prefix is ``EL`` while its country code is ``GR``. An id is kept in its compact form.
"""

from __future__ import annotations

from datetime import date

import pycountry
from babel.numbers import get_territory_currencies
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError

from domain.errors import DomainError

# Where the VAT id prefix differs from the ISO 3166 code.
_VAT_PREFIX = {"GR": "EL"}


class CountryUnknown(DomainError):
    code = "COUNTRY_UNKNOWN"


class VatIdInvalid(DomainError):
    code = "VAT_ID_INVALID"


def country_name(country: str) -> str:
    """The ISO 3166 short name of an alpha-2 code; refuses codes that do not exist."""
    found = pycountry.countries.get(alpha_2=country.upper()) if len(country) == 2 else None
    if found is None:
        raise CountryUnknown(f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    return str(found.name)


def national_currency(country: str, on: date) -> str:
    """The legal tender of ``country`` on ``on`` (the currency Art. 230 asks VAT to be stated in)."""
    country_name(country)
    currencies = get_territory_currencies(country.upper(), start_date=on, tender=True)
    if not currencies:
        raise CountryUnknown(f"no currency known for {country} on {on}")
    return str(currencies[0])


def validate_vat_id(country: str, vat_id: str) -> str:
    """The compact VAT id of a party registered in ``country``, prefix included; refuses a wrong format,
    a failed check digit or an id of another country."""
    country = country.upper()
    country_name(country)
    try:
        module = get_cc_module(country.lower(), "vat")
    except (ImportError, ValueError) as error:
        raise VatIdInvalid(f"VAT ids of {country} cannot be checked") from error
    if module is None:
        raise VatIdInvalid(f"VAT ids of {country} cannot be checked")
    prefix = _VAT_PREFIX.get(country, country)
    raw = vat_id.strip()
    if not raw.upper().startswith(prefix):
        raise VatIdInvalid(f"{vat_id!r} is not a VAT id of {country}: it must start with {prefix}")
    try:
        compact = str(module.validate(raw))
    except ValidationError as error:
        raise VatIdInvalid(f"{vat_id!r} is not a valid VAT id of {country}: {error}") from error
    return compact if compact.upper().startswith(prefix) else prefix + compact


def vat_id_country(vat_id: str) -> str:
    """The country a prefixed VAT id belongs to (``EL`` → ``GR``, ``CHE`` → ``CH``)."""
    prefix = vat_id.strip()[:2].upper()
    return next((country for country, vat in _VAT_PREFIX.items() if vat == prefix), prefix)


def display_vat_id(vat_id: str) -> str:
    """A compact VAT id as its country writes it (``CHE-109.322.551 MWST``), for documents."""
    try:
        module = get_cc_module(vat_id_country(vat_id).lower(), "vat")
    except (ImportError, ValueError):
        return vat_id
    formatter = getattr(module, "format", None)
    if formatter is None:
        return vat_id
    formatted = str(formatter(vat_id))
    # Some formats drop the country prefix, which a cross-border invoice needs.
    return formatted if formatted[:2].upper() == vat_id[:2].upper() else f"{vat_id[:2].upper()} {formatted}"
