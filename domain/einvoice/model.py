"""The EN 16931 semantic model of one issued document, pure: the business terms (BT) and groups (BG) an
e-invoice carries, whatever its syntax (``einvoice.md`` §2). Serialisers (``adapters.einvoice``) write it as
UN/CEFACT CII or UBL 2.1; ``domain.einvoice.build`` makes it from the stored document.

Amounts are ``Decimal`` at the currency's minor unit (two decimals at most, BR-DEC); prices and quantities
keep their own precision. Totals are stored, not derived, so a serialiser writes exactly what was built
(and a test can break them on purpose).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Syntax(StrEnum):
    CII = "CII"  # UN/CEFACT Cross Industry Invoice D16B
    UBL = "UBL"  # OASIS UBL 2.1 Invoice / CreditNote


class Profile(StrEnum):
    """Which specification the document claims (BT-24) and the rules it is validated against besides EN 16931."""

    EN16931 = "EN16931"  # plain EN 16931, also Factur-X / ZUGFeRD at the EN 16931 (COMFORT) profile
    XRECHNUNG = "XRECHNUNG"  # XRechnung 3.0 (KoSIT CIUS)
    PEPPOL = "PEPPOL"  # Peppol BIS Billing 3.0 (Self-Billing 3.0 for self-billed documents)


class EInvoiceFormat(StrEnum):
    """What a partner's contract asks for (``einvoice_format``)."""

    FACTURX = "FACTURX"  # CII in a PDF/A-3 (Factur-X 1.0 / ZUGFeRD 2, EN 16931 profile)
    XRECHNUNG_CII = "XRECHNUNG_CII"
    XRECHNUNG_UBL = "XRECHNUNG_UBL"
    PEPPOL_UBL = "PEPPOL_UBL"
    CII = "CII"
    UBL = "UBL"

    @property
    def syntax(self) -> Syntax:
        return Syntax.UBL if self in _UBL_FORMATS else Syntax.CII

    @property
    def profile(self) -> Profile:
        if self in (EInvoiceFormat.XRECHNUNG_CII, EInvoiceFormat.XRECHNUNG_UBL):
            return Profile.XRECHNUNG
        if self == EInvoiceFormat.PEPPOL_UBL:
            return Profile.PEPPOL
        return Profile.EN16931


_UBL_FORMATS = frozenset({EInvoiceFormat.XRECHNUNG_UBL, EInvoiceFormat.PEPPOL_UBL, EInvoiceFormat.UBL})


class TypeCode(StrEnum):
    """BT-3, UNTDID 1001."""

    INVOICE = "380"
    CREDIT_NOTE = "381"
    SELF_BILLED_INVOICE = "389"
    SELF_BILLED_CREDIT_NOTE = "261"

    @property
    def is_credit_note(self) -> bool:
        """Whether UBL writes it as a ``CreditNote`` (CII keeps one root for both)."""
        return self in (TypeCode.CREDIT_NOTE, TypeCode.SELF_BILLED_CREDIT_NOTE)

    @property
    def is_self_billed(self) -> bool:
        return self in (TypeCode.SELF_BILLED_INVOICE, TypeCode.SELF_BILLED_CREDIT_NOTE)


EN16931_SPECIFICATION = "urn:cen.eu:en16931:2017"
XRECHNUNG_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
PEPPOL_SELF_BILLING_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:selfbilling:3.0"
PEPPOL_SELF_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:selfbilling:01:1.0"


def specification_ids(profile: Profile, type_code: TypeCode) -> tuple[str, str | None]:
    """BT-24 (specification identifier) and BT-23 (business process, None: not stated) of a document."""
    if profile == Profile.XRECHNUNG:
        return XRECHNUNG_SPECIFICATION, PEPPOL_BILLING_PROCESS
    if profile == Profile.PEPPOL:
        if type_code.is_self_billed:
            return PEPPOL_SELF_BILLING_SPECIFICATION, PEPPOL_SELF_BILLING_PROCESS
        return PEPPOL_BILLING_SPECIFICATION, PEPPOL_BILLING_PROCESS
    return EN16931_SPECIFICATION, None


class VatCategory(StrEnum):
    """BT-118 / BT-151, UNCL 5305 (the codes our treatments use)."""

    STANDARD = "S"
    ZERO_RATED = "Z"
    REVERSE_CHARGE = "AE"
    NOT_SUBJECT = "O"


class PaymentMeans(StrEnum):
    """BT-81, UNTDID 4461."""

    SEPA_CREDIT_TRANSFER = "58"
    SEPA_DIRECT_DEBIT = "59"
    CLEARING_BETWEEN_PARTNERS = "97"  # a credit note set off against what the partners owe each other


class Unit(StrEnum):
    """BT-130, UN/ECE Recommendation 20."""

    KILOWATT_HOUR = "KWH"
    ONE = "C62"


@dataclass(frozen=True, slots=True)
class ElectronicAddress:
    """BT-34 / BT-49: where the party receives e-invoices, with its EAS scheme (``EM`` e-mail, ``9930`` DE VAT,
    ``0204`` Leitweg-ID, ``0088`` GLN ...)."""

    scheme: str
    value: str


@dataclass(frozen=True, slots=True)
class Contact:
    """BG-6 seller contact (XRechnung: all three, BR-DE-2/5/6/7)."""

    name: str  # BT-41
    telephone: str  # BT-42
    email: str  # BT-43


@dataclass(frozen=True, slots=True)
class Address:
    """BG-5 / BG-8."""

    country: str  # BT-40 / BT-55, ISO 3166-1 alpha-2
    line_one: str | None = None  # BT-35 / BT-50: street and building number
    city: str | None = None  # BT-37 / BT-52
    postcode: str | None = None  # BT-38 / BT-53


@dataclass(frozen=True, slots=True)
class Party:
    """BG-4 seller / BG-7 buyer."""

    name: str  # BT-27 / BT-44
    address: Address  # BG-5 / BG-8
    vat_id: str | None = None  # BT-31 / BT-48
    legal_registration_id: str | None = None  # BT-30 / BT-47 (e.g. "HRB 12345 B")
    tax_registration_id: str | None = None  # BT-32 (seller only: Steuernummer, scheme FC)
    electronic_address: ElectronicAddress | None = None  # BT-34 / BT-49
    contact: Contact | None = None  # BG-6 (seller) / BG-9 (buyer)


@dataclass(frozen=True, slots=True)
class Period:
    """BG-14 / BG-26."""

    start: date  # BT-73 / BT-134
    end: date  # BT-74 / BT-135


@dataclass(frozen=True, slots=True)
class PrecedingInvoice:
    """BG-3: the invoice a credit note corrects."""

    number: str  # BT-25
    issue_date: date | None = None  # BT-26


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """BG-16 with BG-17 (credit transfer) or BG-19 (direct debit)."""

    means: PaymentMeans  # BT-81
    remittance_information: str | None = None  # BT-83 (our RF reference, or the payout's reference)
    payee_iban: str | None = None  # BT-84
    payee_account_name: str | None = None  # BT-85
    payee_bic: str | None = None  # BT-86
    mandate_reference: str | None = None  # BT-89
    creditor_id: str | None = None  # BT-90 (SEPA creditor identifier)
    debited_iban: str | None = None  # BT-91


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """BG-23: one per VAT category and rate."""

    category: VatCategory  # BT-118
    rate: Decimal  # BT-119 (0 when not subject to VAT: EN 16931 allows it there, XRechnung's BR-DE-14 asks for it)
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    exemption_reason: str | None = None  # BT-120
    exemption_reason_code: str | None = None  # BT-121 (VATEX)


@dataclass(frozen=True, slots=True)
class Line:
    """BG-25."""

    id: str  # BT-126
    object_id: str  # BT-128: the charging session
    quantity: Decimal  # BT-129
    unit: Unit  # BT-130
    net_amount: Decimal  # BT-131
    period: Period  # BG-26
    net_price: Decimal  # BT-146 (BR-27: never negative)
    item_name: str  # BT-153
    vat_category: VatCategory  # BT-151
    vat_rate: Decimal | None  # BT-152


@dataclass(frozen=True, slots=True)
class Totals:
    """BG-22 (no document allowances, charges or rounding: BT-107, BT-108, BT-114 are never stated)."""

    line_net: Decimal  # BT-106 = sum of BT-131
    tax_exclusive: Decimal  # BT-109 = BT-106
    vat: Decimal  # BT-110 = sum of BT-117
    vat_in_accounting_currency: Decimal | None  # BT-111, in BT-6 (None: no BT-6)
    tax_inclusive: Decimal  # BT-112 = BT-109 + BT-110
    prepaid: Decimal  # BT-113
    payable: Decimal  # BT-115 = BT-112 - BT-113


@dataclass(frozen=True, slots=True)
class EInvoice:
    number: str  # BT-1
    issue_date: date  # BT-2
    type_code: TypeCode  # BT-3
    currency: str  # BT-5
    vat_accounting_currency: str | None  # BT-6 (None: VAT is accounted in BT-5)
    seller: Party  # BG-4
    buyer: Party  # BG-7
    period: Period  # BG-14
    lines: tuple[Line, ...]  # BG-25
    vat_breakdown: tuple[VatBreakdown, ...]  # BG-23
    totals: Totals  # BG-22
    notes: tuple[str, ...] = ()  # BT-22
    buyer_reference: str | None = None  # BT-10
    preceding_invoice: PrecedingInvoice | None = None  # BG-3
    due_date: date | None = None  # BT-9
    payment_terms: str | None = None  # BT-20
    payment: PaymentInstructions | None = None  # BG-16
