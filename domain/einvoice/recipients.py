"""Who receives an e-invoice in which format, and at which electronic address, when its contract does not say
(``einvoice.md`` §1, §5), pure.

Default format by the recipient's country (where it is established):

========================================  ==============================================================
DE, AT, FR, LU                            FACTURX: the PDF people read, with the EN 16931 XML inside
                                          (ZUGFeRD / Factur-X, what accounts-payable systems there read)
BE, NL, DK, FI, SE, NO                    PEPPOL_UBL when an electronic address derives from its VAT id
                                          (below), else FACTURX
CH, GB and every other country            CII (EN 16931 UN/CEFACT CII, beside the PDF)
========================================  ==============================================================

XRechnung is never a default: its buyer reference (a Leitweg-ID for public buyers) is the recipient's to give.

Electronic addresses (BT-34/BT-49) derive from a VAT id where an EAS scheme identifies parties by it (codes
as in the CEF EAS list the EN 16931 rules check, BR-CL-25): the VAT number schemes 99xx of most European
countries, Belgium's enterprise number (0208, what Belgian parties are registered under in Peppol), the Swiss
UID (0183), the Danish CVR (0184), the Swedish and Norwegian organisation numbers (0007, 0192) and the Finnish
VAT number (0213). Italy (0211, the Partita IVA) is left out: Italian B2B invoices go through SdI.
"""

from __future__ import annotations

import re

from domain.einvoice.model import EInvoiceFormat, ElectronicAddress, TypeCode

# The CEF EAS code list as EN 16931 v1.3.16 checks it (BR-CL-25; rules/en16931/ubl/EN16931-UBL-validation.xslt).
_EAS_LIST = (
    "0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0147 0151 0154 0158 0170 0177 0183 0184 "
    "0188 0190 0191 0192 0193 0194 0195 0196 0198 0199 0200 0201 0202 0203 0204 0205 0208 0209 0210 0211 "
    "0212 0213 0215 0216 0217 0218 0219 0220 0221 0225 0230 0235 0240 0244 0242 0245 0246 0248 9910 9913 "
    "9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 9928 9929 9930 9931 9932 9933 9934 9935 9936 "
    "9937 9938 9939 9940 9941 9942 9943 9944 9945 9946 9947 9948 9949 9950 9951 9952 9953 9957 9959 AN AQ "
    "AS AU EM"
)
EAS_CODES = frozenset(_EAS_LIST.split())
# EAS schemes whose identifier is the VAT id as it is written, prefix included (DE123456789), by VAT prefix.
VAT_NUMBER_SCHEMES = {
    "AT": "9914",
    "BG": "9926",
    "CY": "9928",
    "CZ": "9929",
    "DE": "9930",
    "EE": "9931",
    "EL": "9933",
    "ES": "9920",
    "FR": "9957",
    "GB": "9932",
    "HR": "9934",
    "HU": "9910",
    "IE": "9935",
    "LT": "9937",
    "LU": "9938",
    "LV": "9939",
    "MT": "9943",
    "NL": "9944",
    "PL": "9945",
    "PT": "9946",
    "RO": "9947",
    "SI": "9949",
    "SK": "9950",
}
BELGIAN_ENTERPRISE_NUMBER = "0208"  # the BE VAT id's ten digits
SWISS_UID = "0183"  # CHE and nine digits, the VAT id without its MWST/TVA/IVA suffix
DANISH_CVR = "0184"  # the DK VAT id's eight digits
SWEDISH_ORGANISATION_NUMBER = "0007"  # the SE VAT id's ten digits before its 01
NORWEGIAN_ORGANISATION_NUMBER = "0192"  # the NO VAT id's nine digits before its MVA
FINNISH_VAT_NUMBER = "0213"  # the FI VAT id as written
_DIGITS = re.compile(r"\d+")

FACTURX_COUNTRIES = frozenset({"DE", "AT", "FR", "LU"})
PEPPOL_COUNTRIES = frozenset({"BE", "NL", "DK", "FI", "SE", "NO"})


def electronic_address_from_vat_id(vat_id: str | None) -> ElectronicAddress | None:
    """The electronic address a compact VAT id (prefix included) stands for, None where no EAS scheme
    identifies parties by it."""
    if not vat_id:
        return None
    vat_id = vat_id.strip().upper()
    prefix, number = vat_id[:2], vat_id[2:]
    if prefix in VAT_NUMBER_SCHEMES:
        return ElectronicAddress(VAT_NUMBER_SCHEMES[prefix], vat_id)
    if prefix == "BE" and len(number) == 10 and number.isdigit():
        return ElectronicAddress(BELGIAN_ENTERPRISE_NUMBER, number)
    if vat_id.startswith("CHE"):
        digits = "".join(_DIGITS.findall(vat_id))
        return ElectronicAddress(SWISS_UID, f"CHE{digits}") if len(digits) == 9 else None
    if prefix == "DK" and len(number) == 8 and number.isdigit():
        return ElectronicAddress(DANISH_CVR, number)
    if prefix == "SE" and len(number) == 12 and number.isdigit():
        return ElectronicAddress(SWEDISH_ORGANISATION_NUMBER, number[:10])
    if prefix == "NO" and number[:9].isdigit() and len(number) >= 9:
        return ElectronicAddress(NORWEGIAN_ORGANISATION_NUMBER, number[:9])
    if prefix == "FI" and len(number) == 8 and number.isdigit():
        return ElectronicAddress(FINNISH_VAT_NUMBER, vat_id)
    return None


def default_format(country: str, *, has_electronic_address: bool) -> EInvoiceFormat:
    """The format of a recipient whose contract names none (the table above)."""
    country = country.upper()
    if country in PEPPOL_COUNTRIES:
        return EInvoiceFormat.PEPPOL_UBL if has_electronic_address else EInvoiceFormat.FACTURX
    if country in FACTURX_COUNTRIES:
        return EInvoiceFormat.FACTURX
    return EInvoiceFormat.CII


def document_format(fmt: EInvoiceFormat, type_code: TypeCode) -> EInvoiceFormat:
    """The format a document is issued in: the recipient's, except that self-billed documents (389/261) are
    never Peppol BIS, whose Self-Billing rules we do not have to validate them against: they are issued as
    plain EN 16931 UBL, which a Peppol recipient's system reads too."""
    if fmt == EInvoiceFormat.PEPPOL_UBL and type_code.is_self_billed:
        return EInvoiceFormat.UBL
    return fmt
