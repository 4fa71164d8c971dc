"""Stage 7 end to end: the chain model's two invoices per session, VAT by charger country, model and party
status, served as JSON, HTML and PDF; monthly statements issued by the Temporal Schedule. Real API,
Temporal dev server and simulated CPOs; amounts to the cent."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import select

from adapters.swiss_qr_bill import qr_bill
from cli.seed import DemoPartner, ensure_demand_partner
from domain.invoicing.creditor_reference import creditor_reference, printed
from messages.invoicing import StatementRun
from persistence.ledger_check import check_ledger
from persistence.tables import InvoiceRow
from tests.e2e.conftest import ALPENFLOTTE, FAHRWERK, MOTORBRIT, VOYAGEO, Stack
from tests.e2e.test_settlement import expected_split, half_up, partner, settle
from workers.main import ensure_statement_schedule
from workflows.statements import MonthlyStatementWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLATFORM_DE, PLATFORM_CH = "DE312987657", "CHE301845272MWST"


async def invoice(stack: Stack, who: DemoPartner, number: str) -> dict[str, Any]:
    response = await stack.http.get(f"/v1/invoices/{number}", headers=stack.headers(who.api_key))
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def self_billed(stack: Stack, session_id: str) -> dict[str, Any]:
    with stack.writes() as db:
        document: dict[str, Any] | None = db.scalar(
            select(InvoiceRow.document).where(InvoiceRow.session_id == session_id, InvoiceRow.issuer.like("cpo:%"))
        )
    assert document is not None
    return document


def assert_art_226(document: dict[str, Any]) -> None:
    """The fields EU VAT Directive Art. 226 asks for, present and consistent."""
    assert document["number"]
    assert document["issue_date"]
    assert document["supply_period"]["from"]
    for party in (document["supplier"], document["customer"]):
        assert party["name"]
        assert party["address"]
        assert party["country_name"]
    assert document["supplier"]["vat_id"]
    for line in document["lines"]:
        assert Decimal(line["quantity"]) > 0
        assert line["unit"] == "kWh"
        assert line["description"].startswith("Electricity for EV charging")
        assert Decimal(line["unit_price"]) >= 0
        assert Decimal(line["net"]) + Decimal(line["vat"]) == Decimal(line["gross"])
    totals = document["totals"]
    assert Decimal(totals["net"]) == sum(Decimal(line["net"]) for line in document["lines"])
    assert Decimal(totals["vat"]) == sum(Decimal(line["vat"]) for line in document["lines"])
    assert Decimal(totals["net"]) + Decimal(totals["vat"]) == Decimal(totals["gross"])


async def test_a_domestic_german_session_has_two_invoices_with_german_vat(stack: Stack) -> None:
    session = await settle(stack, "DE*STN*E3001", FAHRWERK)
    net = Decimal(session["clearing"]["total_cost"]["excl_vat"])
    split = expected_split(net)
    sold = await invoice(stack, FAHRWERK, session["billing"]["invoice"])
    assert_art_226(sold)
    assert sold["number"].startswith("NC-")
    assert (sold["supplier"]["vat_id"], sold["customer"]["vat_id"]) == (PLATFORM_DE, "DE281045677")
    assert sold["notes"] == []
    [line] = sold["lines"]
    assert (line["vat_treatment"], line["place_of_supply"], line["vat_rate"]["percent"]) == ("DOMESTIC", "DE", "19")
    assert Decimal(line["net"]) == split["net"]
    assert Decimal(line["vat"]) == half_up(split["net"] * Decimal("0.19"))
    assert line["national_vat"] == {"currency": "EUR", "vat": line["vat"], "fx_rate": None}
    bought = self_billed(stack, session["id"])
    assert_art_226(bought)
    assert bought["self_billing"] is True
    assert bought["notes"] == ["Self-billing"]
    assert bought["number"].startswith("SB-DESTN-")
    assert (bought["supplier"]["name"], bought["customer"]["vat_id"]) == ("Stromnetz Laden GmbH", PLATFORM_DE)
    [cpo_line] = bought["lines"]
    assert Decimal(cpo_line["net"]) == split["cpo"]
    assert Decimal(cpo_line["vat"]) == half_up(split["cpo"] * Decimal("0.19"))
    # How to pay: due after the contract's default terms, into our EUR account, quoting the RF of the number.
    issued = date.fromisoformat(sold["issue_date"])
    assert sold["payment"] == {
        "due_date": (issued + timedelta(days=14)).isoformat(),
        "reference": creditor_reference(sold["number"]),
        "account": {"holder": "NetworkCore GmbH", "iban": "DE02100500000054540402", "bic": "BELADEBEXXX"},
    }
    assert sold["supplier"]["postal_address"] == {
        "street": "Torstrasse",
        "building_number": "49",
        "postcode": "10119",
        "town": "Berlin",
        "country": "DE",
    }
    assert sold["customer"]["address"] == "Leopoldstrasse 12, 80802 München"
    assert bought["payment"] is None  # self-billed: settled by our payout to the CPO


async def test_a_french_dealer_at_a_german_charger_is_reverse_charged(stack: Stack) -> None:
    session = await settle(stack, "DE*STN*E3001", VOYAGEO)
    sold = await invoice(stack, VOYAGEO, session["billing"]["invoice"])
    assert_art_226(sold)
    [line] = sold["lines"]
    # Art. 38: a taxable dealer is supplied where it is established; the platform is not, so the French
    # customer accounts for the VAT.
    assert (line["vat_treatment"], line["place_of_supply"], line["vat"]) == ("REVERSE_CHARGE", "FR", "0.00")
    assert sold["notes"] == ["Reverse charge"]
    assert sold["customer"]["vat_id"] == "FR44732829320"
    assert Decimal(session["billing"]["total"]) == Decimal(session["billing"]["net"])
    # The CPO's supply to the platform stays German.
    assert self_billed(stack, session["id"])["lines"][0]["vat_treatment"] == "DOMESTIC"


async def test_a_french_partner_that_is_no_dealer_pays_german_vat_at_a_german_charger(stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:8]
    french = DemoPartner(f"dp-fr-{suffix}", "Parcours Mobilité SARL", "FR", "FR19812345676", "EUR", f"key-{suffix}")
    with stack.writes.begin() as db:
        terms = {
            "billing_currency": "EUR",
            "revenue_share": {"percent": "15"},
            "credit": {"limit": "1000.00", "session_cap": "80.00"},
        }
        ensure_demand_partner(db, french, terms, now=datetime.now(UTC))
    session = await settle(stack, "DE*STN*E3001", french)
    [line] = (await invoice(stack, french, session["billing"]["invoice"]))["lines"]
    assert (line["vat_treatment"], line["place_of_supply"], line["vat_rate"]["percent"]) == ("DOMESTIC", "DE", "19")
    assert line["supplier_vat_id"] == PLATFORM_DE


async def test_a_swiss_session_billed_in_euros_states_its_vat_in_francs(stack: Stack) -> None:
    session = await settle(stack, "CH*VSW*E1001", FAHRWERK)
    sold = await invoice(stack, FAHRWERK, session["billing"]["invoice"])
    assert_art_226(sold)
    assert sold["currency"] == "EUR"
    [line] = sold["lines"]
    assert (line["vat_treatment"], line["place_of_supply"], line["vat_rate"]["percent"]) == ("DOMESTIC", "CH", "8.1")
    assert sold["supplier"]["vat_id"] == PLATFORM_CH  # charged under the platform's Swiss registration
    national = line["national_vat"]
    assert national["currency"] == "CHF"
    eur_chf = Decimal(national["fx_rate"]["rate"])
    assert (national["fx_rate"]["base"], national["fx_rate"]["quote"]) == ("EUR", "CHF")
    assert "ECB" in national["fx_rate"]["source"]
    assert Decimal(national["vat"]) == (Decimal(line["vat"]) * eur_chf).quantize(Decimal("0.01"), ROUND_HALF_UP)
    [group] = sold["vat_summary"]
    assert (group["national_currency"], group["national_vat"]) == ("CHF", national["vat"])
    page = await stack.http.get(f"/v1/invoices/{sold['number']}.html", headers=stack.headers(FAHRWERK.api_key))
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert f"{national['vat']} CHF" in page.text
    assert "CHE-301.845.272 MWST" in page.text


async def test_a_pound_invoice_states_german_vat_in_euros(stack: Stack) -> None:
    session = await settle(stack, "DE*STN*E3001", MOTORBRIT)
    sold = await invoice(stack, MOTORBRIT, session["billing"]["invoice"])
    assert_art_226(sold)
    [line] = sold["lines"]
    assert (sold["currency"], line["vat_rate"]["percent"], line["national_vat"]["currency"]) == ("GBP", "19", "EUR")
    gbp_eur = Decimal(line["national_vat"]["fx_rate"]["rate"])
    assert Decimal(line["national_vat"]["vat"]) == (Decimal(line["vat"]) * gbp_eur).quantize(
        Decimal("0.01"), ROUND_HALF_UP
    )


async def test_invoices_are_listed_printable_and_private(stack: Stack) -> None:
    session = await settle(stack, "DE*STN*E4001", VOYAGEO)
    number = session["billing"]["invoice"]
    listed = (await stack.http.get("/v1/invoices", headers=stack.headers(VOYAGEO.api_key))).json()
    [summary] = [entry for entry in listed["invoices"] if entry["number"] == number]
    assert summary["notes"] == ["Reverse charge"]
    assert summary["links"]["pdf"] == f"/v1/invoices/{number}.pdf"
    assert summary["payment_reference"] == creditor_reference(number)
    assert summary["due_date"] is not None
    pdf = await stack.http.get(summary["links"]["pdf"], headers=stack.headers(VOYAGEO.api_key))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    page = await stack.http.get(summary["links"]["html"], headers=stack.headers(VOYAGEO.api_key))
    assert "Reverse charge" in page.text
    assert printed(creditor_reference(number)) in page.text
    assert "DE02 1005 0000 0054 5404 02" in page.text
    for path in (f"/v1/invoices/{number}", f"/v1/invoices/{number}.pdf", f"/v1/invoices/{number}.html"):
        assert (await stack.http.get(path, headers=stack.headers(MOTORBRIT.api_key))).status_code == 404
    assert (await stack.http.get("/v1/invoices/NC-999999", headers=stack.headers(VOYAGEO.api_key))).status_code == 404
    assert (await stack.http.get(f"/v1/invoices/{number}")).status_code == 401


async def test_a_monthly_partner_is_invoiced_by_the_schedule_once_a_month(stack: Stack) -> None:
    sessions = [await settle(stack, evse, ALPENFLOTTE) for evse in ("DE*STN*E3001", "CH*VSW*E1001")]
    assert all(s["billing"]["invoice"] is None for s in sessions)  # on the open statement, not yet numbered
    listed = (await stack.http.get("/v1/invoices", headers=stack.headers(ALPENFLOTTE.api_key))).json()
    assert sum(statement["sessions"] for statement in listed["open_statements"]) >= 2
    # The run the Schedule starts on the 1st, triggered now for this partner's drafts up to this month.
    schedule_id = f"statements-{uuid.uuid4().hex[:8]}"
    run = StatementRun(before_period="9999-12", recipient=f"dp:{ALPENFLOTTE.id}")
    handle = await ensure_statement_schedule(stack.temporal, stack.task_queue, schedule_id=schedule_id, run=run)
    try:
        await handle.trigger()
        numbers: list[str | None] = [None]
        for _ in range(300):
            numbers = [(await stack.get(s["id"], ALPENFLOTTE.api_key))["billing"]["invoice"] for s in sessions]
            if all(numbers):
                break
            await asyncio.sleep(0.1)
    finally:
        await handle.delete()
    assert all(numbers)
    # One statement a month per currency VAT is due in besides the invoice's (an e-invoice states one, BT-6):
    # the German sessions' (VAT in EUR, the invoice's currency) and the Swiss ones' (VAT in CHF).
    assert numbers[0] != numbers[1]
    for session, number, place in zip(sessions, numbers, ("DE", "CH"), strict=True):
        assert number is not None
        statement = await invoice(stack, ALPENFLOTTE, number)
        assert_art_226(statement)
        assert statement["statement_period"] is not None
        assert session["id"] in {line["session_id"] for line in statement["lines"]}
        places = {group["place_of_supply"] for group in statement["vat_summary"]}
        assert place in places
        assert ("CH" in places) == (place == "CH")
    listed = (await stack.http.get("/v1/invoices", headers=stack.headers(ALPENFLOTTE.api_key))).json()
    assert listed["open_statements"] == []
    with stack.writes() as db:
        assert check_ledger(db).problems == []


async def test_a_chf_invoice_carries_a_swiss_qr_bill_with_its_reference(stack: Stack) -> None:
    swiss = partner(stack, "CHF")
    session = await settle(stack, "CH*VSW*E1001", swiss)
    sold = await invoice(stack, swiss, session["billing"]["invoice"])
    assert sold["currency"] == "CHF"
    reference = creditor_reference(sold["number"])
    assert sold["payment"]["reference"] == reference
    assert sold["payment"]["account"]["iban"] == "CH5604835012345678009"
    bill = qr_bill(sold)
    assert bill is not None
    fields = bill.qr_data().split("\r\n")
    assert fields[:4] == ["SPC", "0200", "1", "CH5604835012345678009"]
    assert fields[4:11] == ["S", "NetworkCore GmbH", "Torstrasse", "49", "10119", "Berlin", "DE"]
    assert fields[18:20] == [sold["totals"]["gross"], "CHF"]
    assert fields[27:29] == ["SCOR", reference]
    pdf = await stack.http.get(f"/v1/invoices/{sold['number']}.pdf", headers=stack.headers(swiss.api_key))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")


async def test_a_partners_revenue_share_is_a_self_billed_invoice_in_its_name_per_month_and_currency(
    stack: Stack,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    german = DemoPartner(f"dp-rs-{suffix}", "Rheinflotte GmbH", "DE", "DE281045677", "EUR", f"key-{suffix}")
    terms = {
        "billing_currency": "EUR",
        "revenue_share": {"percent": "15", "basis": "COMMISSION"},
        "credit": {"limit": "1000.00", "session_cap": "80.00", "hold_days": 7},
    }
    with stack.writes.begin() as db:
        ensure_demand_partner(db, german, terms, now=datetime.now(UTC))
    sessions = {evse: await settle(stack, evse, german) for evse in ("DE*STN*E3001", "CH*VSW*E1001")}
    issued = await stack.temporal.execute_workflow(
        MonthlyStatementWorkflow.run,
        StatementRun(before_period="9999-12", recipient="platform"),
        id=f"revenue-share-statements-{suffix}",
        task_queue=stack.task_queue,
    )
    series = f"RS-{german.id.upper()}"
    mine = sorted(number for number in issued.issued if number.startswith(f"{series}-"))
    assert mine == [f"{series}-000001", f"{series}-000002"]  # one per currency: EUR and CHF
    listed = (await stack.http.get("/v1/invoices", headers=stack.headers(german.api_key))).json()
    self_billed_ = {entry["number"]: entry for entry in listed["invoices"] if entry["self_billed"]}
    assert set(self_billed_) == set(mine)
    for number in mine:
        document = await invoice(stack, german, number)
        assert (document["self_billing"], document["notes"], document["payment"]) == (True, ["Self-billing"], None)
        assert (document["supplier"]["vat_id"], document["customer"]["vat_id"]) == ("DE281045677", PLATFORM_DE)
        [line] = document["lines"]
        session = sessions["CH*VSW*E1001" if document["currency"] == "CHF" else "DE*STN*E3001"]
        share = expected_split(Decimal(session["clearing"]["total_cost"]["excl_vat"]))["share"]
        assert line["description"] == f"Revenue share, session {session['id']}"
        assert (Decimal(line["net"]), Decimal(line["vat"])) == (share, half_up(share * Decimal("0.19")))
        assert (line["vat_treatment"], line["place_of_supply"], line["vat_rate"]["percent"]) == ("DOMESTIC", "DE", "19")
        assert line["national_vat"]["currency"] == "EUR"  # a CHF share's German VAT, stated in euros too
        assert (line["national_vat"]["fx_rate"] is None) == (document["currency"] == "EUR")
        assert self_billed_[number]["due_date"] is None
    with stack.writes() as db:
        assert check_ledger(db).problems == []
