"""Invoice lines and totals, pure: net + VAT = gross on every line and total, totals are the sums of their
lines, VAT is rounded once at the line (half-up), and a document reads back as issued."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.fx.rates import FxRate
from domain.invoicing.documents import (
    DocumentKind,
    InvoiceDocument,
    IssuedParty,
    invoice_number,
    line_from_json,
    line_to_json,
    self_billing_series,
)
from domain.invoicing.lines import InvoiceLine, credited, invoice_line, invoice_totals
from domain.money import minor_unit_places
from domain.vat.rates import VatCategory, VatRate
from domain.vat.treatment import TaxParty, VatDecision, VatTreatment

DAY = date(2026, 10, 30)
CURRENCIES = ["EUR", "CHF", "GBP", "JPY", "KWD"]


def decision(percent: Decimal, treatment: VatTreatment = VatTreatment.DOMESTIC, place: str = "DE") -> VatDecision:
    rate = VatRate(place, VatCategory.STANDARD, percent, date(2024, 1, 1), "test", date(2024, 1, 1))
    charged = treatment == VatTreatment.DOMESTIC
    return VatDecision(treatment, place, rate if charged else None, "DE312987657", None)


percents = st.decimals(min_value=0, max_value=Decimal("27.5"), places=1)
treatments = st.sampled_from(list(VatTreatment))


@st.composite
def lines(draw: st.DrawFn, currency: str) -> InvoiceLine:
    national = draw(st.sampled_from(CURRENCIES))
    rate = None
    if national != currency:
        rate = FxRate(currency, national, draw(st.decimals(min_value="0.001", max_value=200, places=4)), DAY, "t")
    return invoice_line(
        session_id=draw(st.uuids()).hex,
        description="Electricity for EV charging",
        quantity=draw(st.decimals(min_value="0.001", max_value=500, places=3)),
        supplied_on=DAY,
        currency=currency,
        net_minor=draw(st.integers(min_value=0, max_value=10**9)),
        decision=decision(draw(percents), draw(treatments), draw(st.sampled_from(["DE", "CH", "FR"]))),
        national_currency=national,
        national_rate=rate,
    )


@st.composite
def invoices(draw: st.DrawFn) -> tuple[str, list[InvoiceLine]]:
    currency = draw(st.sampled_from(CURRENCIES))
    return currency, draw(st.lists(lines(currency), min_size=1, max_size=12))


def half_up(value: Decimal, currency: str) -> int:
    places = minor_unit_places(currency)
    return int(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP).scaleb(places))


@given(invoices())
def test_net_plus_vat_is_gross_on_every_line_group_and_total(invoice: tuple[str, list[InvoiceLine]]) -> None:
    currency, items = invoice
    totals = invoice_totals(currency, items)
    for line in items:
        assert line.net_minor + line.vat_minor == line.gross_minor
    for group in totals.groups:
        assert group.net_minor + group.vat_minor == group.gross_minor
    assert totals.net_minor + totals.vat_minor == totals.gross_minor
    assert totals.net_minor == sum(line.net_minor for line in items)
    assert totals.vat_minor == sum(line.vat_minor for line in items)
    assert sum(group.net_minor for group in totals.groups) == totals.net_minor
    assert sum(group.vat_minor for group in totals.groups) == totals.vat_minor
    national: dict[str, int] = {}
    for line in items:
        national[line.national.currency] = national.get(line.national.currency, 0) + line.national.vat_minor
    for code, amount in national.items():
        assert sum(g.national_vat_minor for g in totals.groups if g.national_currency == code) == amount


@given(st.sampled_from(CURRENCIES).flatmap(lines))
def test_vat_is_rounded_once_half_up_at_the_line(line: InvoiceLine) -> None:
    currency = line.currency
    net = Decimal(line.net_minor).scaleb(-minor_unit_places(currency))
    expected = half_up(net * line.vat.percent / 100, currency) if line.vat.treatment == VatTreatment.DOMESTIC else 0
    assert line.vat_minor == expected
    if line.national.rate is None:
        assert line.national.vat_minor == line.vat_minor
    else:  # the line's VAT, converted and rounded once: not recomputed from a converted net
        vat = Decimal(line.vat_minor).scaleb(-minor_unit_places(currency))
        assert line.national.vat_minor == half_up(vat * line.national.rate.rate, line.national.currency)


@given(st.sampled_from(CURRENCIES).flatmap(lines))
def test_a_line_reads_back_as_issued(line: InvoiceLine) -> None:
    assert line_from_json(line_to_json(line)) == line


def test_a_german_line_worked_by_hand() -> None:
    line = invoice_line(
        session_id="s",
        description="Electricity for EV charging",
        quantity=Decimal("23.456"),
        supplied_on=DAY,
        currency="EUR",
        net_minor=1234,
        decision=decision(Decimal(19)),
        national_currency="EUR",
        national_rate=None,
    )
    assert (line.vat_minor, line.gross_minor) == (234, 1468)  # 12.34 x 19 % = 2.3446
    assert line.unit_price == Decimal("0.5261")  # 12.34 / 23.456 kWh


def test_documents_say_self_billing_and_reverse_charge_once() -> None:
    def line(treatment: VatTreatment, session: str) -> InvoiceLine:
        return invoice_line(
            session_id=session,
            description="Electricity for EV charging",
            quantity=Decimal(10),
            supplied_on=DAY,
            currency="EUR",
            net_minor=1000,
            decision=decision(Decimal(19), treatment),
            national_currency="EUR",
            national_rate=None,
        )

    party = TaxParty("Supplier", "Street 1", "DE", {"DE": "DE312987657"})
    document = InvoiceDocument(
        kind=DocumentKind.INVOICE,
        number=invoice_number("SB-DESTN", 7),
        issuer="cpo:c",
        series="SB-DESTN",
        sequence=7,
        issue_date=DAY,
        supplier=IssuedParty.of(party, "DE312987657"),
        customer=IssuedParty.of(party, None),
        currency="EUR",
        lines=(
            line(VatTreatment.REVERSE_CHARGE, "a"),
            line(VatTreatment.REVERSE_CHARGE, "b"),
            line(VatTreatment.DOMESTIC, "c"),
        ),
        self_billing=True,
    )
    data = document.to_json()
    assert data["number"] == "SB-DESTN-000007"
    assert data["notes"] == ["Self-billing", "Reverse charge"]
    assert data["totals"] == {"net": "30.00", "vat": "1.90", "gross": "31.90"}
    assert [g["vat_treatment"] for g in data["vat_summary"]] == ["DOMESTIC", "REVERSE_CHARGE"]
    assert self_billing_series("de", "stn") == "SB-DESTN"


@given(invoices())
def test_a_credit_note_cancels_its_invoice_to_the_minor_unit_in_every_group(
    invoice: tuple[str, list[InvoiceLine]],
) -> None:
    currency, issued = invoice
    both = invoice_totals(currency, [*issued, *(credited(line) for line in issued)])
    assert (both.net_minor, both.vat_minor) == (0, 0)
    assert all((g.net_minor, g.vat_minor, g.national_vat_minor) == (0, 0, 0) for g in both.groups)
    for line in issued:
        credit = credited(line)
        # The same supply, at the same VAT decision and rate: only the amounts change sign.
        assert (credit.session_id, credit.vat, credit.quantity, credit.supplied_on) == (
            line.session_id,
            line.vat,
            line.quantity,
            line.supplied_on,
        )
        assert line_from_json(line_to_json(credit)) == credit
