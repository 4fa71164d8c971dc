"""E-invoices end to end: each settled session's documents are issued with their EN 16931 e-invoice in the
format of the party's contract (or its country's default), served to the partner whose document it is and to
no one else; a document whose e-invoice fails a rule is not issued, its session waits in needs-attention
with the rule named and settles once ops fixed the contract and retried, the number series without a gap; the
delivery Schedule writes them to the outbox."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from facturx import get_xml_from_pdf
from lxml import etree
from sqlalchemy import select
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.einvoices import EInvoiceDeliveryActivities
from adapters.einvoice.validation import validate
from cli.seed import DemoPartner, ensure_demand_partner
from domain.einvoice.model import EInvoiceFormat
from domain.partners import PostalAddress
from domain.sessions.lifecycle import SessionStage
from messages.sessions import SettlementRetry
from persistence.contracts import ensure_contract
from persistence.ledger_check import check_ledger
from persistence.tables import InvoiceRow
from tests.e2e.conftest import FAHRWERK, MOTORBRIT, ROAMLY, VOYAGEO, Stack
from tests.e2e.test_settlement import parked_settlement, settle
from workers.main import ensure_einvoice_schedule
from workflows.einvoices import EInvoiceDeliveryWorkflow

pytestmark = pytest.mark.asyncio(loop_scope="session")

UBL_CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
BRUSSELS = PostalAddress("Rue de la Loi", "1000", "Bruxelles", building_number="16")


async def summary(stack: Stack, who: DemoPartner, number: str) -> dict[str, Any]:
    listed = (await stack.http.get("/v1/invoices", headers=stack.headers(who.api_key))).json()
    found: list[dict[str, Any]] = [entry for entry in listed["invoices"] if entry["number"] == number]
    assert len(found) == 1
    return found[0]


def self_billed_format(stack: Stack, session_id: str) -> str | None:
    with stack.writes() as db:
        return db.scalar(
            select(InvoiceRow.einvoice_format).where(
                InvoiceRow.session_id == session_id, InvoiceRow.issuer.like("cpo:%")
            )
        )


async def test_each_partner_gets_its_einvoice_in_its_format_and_only_its_own(stack: Stack) -> None:
    session = await settle(stack, "DE*STN*E3001", ROAMLY)  # Dutch, no e-invoice terms: Peppol, 9944 + VAT id
    number = session["billing"]["invoice"]
    listed = await summary(stack, ROAMLY, number)
    assert listed["einvoice_format"] == "PEPPOL_UBL"
    assert listed["links"]["xml"] == f"/v1/invoices/{number}.xml"
    served = await stack.http.get(listed["links"]["xml"], headers=stack.headers(ROAMLY.api_key))
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/xml"
    assert served.headers["content-disposition"] == f'attachment; filename="{number}.xml"'
    assert [failure for failure in validate(served.content, EInvoiceFormat.PEPPOL_UBL) if failure.fatal] == []
    root = etree.fromstring(served.content)
    assert root.findtext(f"{UBL_CBC}ID") == number
    assert root.find(f".//{UBL_CBC}EndpointID[@schemeID='9944']") is not None
    for other, status in ((stack.headers(MOTORBRIT.api_key), 404), ({}, 401)):
        assert (await stack.http.get(listed["links"]["xml"], headers=other)).status_code == status
    # The German CPO's self-billed invoice: its country's default.
    assert self_billed_format(stack, session["id"]) == "FACTURX"

    fahrwerk = await settle(stack, "DE*STN*E3001", FAHRWERK)  # its contract: XRechnung CII
    xml = await stack.http.get(
        f"/v1/invoices/{fahrwerk['billing']['invoice']}.xml", headers=stack.headers(FAHRWERK.api_key)
    )
    assert b"urn:xeinkauf.de:kosit:xrechnung_3.0" in xml.content
    assert b"<ram:BuyerReference>FW-AP-2026</ram:BuyerReference>" in xml.content

    voyageo = await settle(stack, "DE*STN*E4001", VOYAGEO)  # French: Factur-X, its PDF carries the XML
    base = f"/v1/invoices/{voyageo['billing']['invoice']}"
    pdf = await stack.http.get(f"{base}.pdf", headers=stack.headers(VOYAGEO.api_key))
    xml = await stack.http.get(f"{base}.xml", headers=stack.headers(VOYAGEO.api_key))
    assert pdf.headers["content-type"] == "application/pdf"
    assert get_xml_from_pdf(pdf.content, check_xsd=False) == ("factur-x.xml", xml.content)


async def test_a_document_failing_a_rule_parks_its_session_until_the_contract_is_fixed(stack: Stack) -> None:
    """A Belgian partner whose contract gives its enterprise number with a wrong check digit: well formed, so
    the contract was saved, but Peppol refuses it (PEPPOL-COMMON-R043) when its first invoice is issued."""
    suffix = uuid.uuid4().hex[:8]
    belgian = DemoPartner(
        f"dp-be-{suffix}", "Laadpaal Vlaanderen BV", "BE", "BE0403019261", "EUR", f"key-{suffix}", address=BRUSSELS
    )
    terms: dict[str, Any] = {
        "billing_currency": "EUR",
        "revenue_share": {"percent": "0", "basis": "COMMISSION"},
        "credit": {"limit": "1000.00", "session_cap": "80.00"},
        "einvoice": {"format": "PEPPOL_UBL", "electronic_address": {"scheme": "0208", "id": "0403019262"}},
    }
    with stack.writes.begin() as db:
        ensure_demand_partner(db, belgian, terms, now=datetime.now(UTC))
    session_id = await stack.start("DE*STN*E3001", f"driver-{suffix}", api_key=belgian.api_key)
    parked = await parked_settlement(stack, session_id, belgian)
    assert "EInvoiceInvalid" in parked["reason"]
    assert "PEPPOL-COMMON-R043" in parked["reason"]
    with stack.writes() as db:
        assert db.scalars(select(InvoiceRow).where(InvoiceRow.session_id == session_id)).all() == []
        assert check_ledger(db).problems == []  # every series still without a gap
    fixed = terms | {"einvoice": {"format": "PEPPOL_UBL"}}  # the address derived from its VAT id
    with stack.writes.begin() as db:
        ensure_contract(db, "DEMAND_PARTNER", belgian.id, fixed, now=datetime.now(UTC), first_from=datetime.now(UTC))
    await stack.handle(session_id).signal("retry_settlement", SettlementRetry(requested_by="ops"))
    settled = await stack.wait_for(session_id, SessionStage.SETTLED, api_key=belgian.api_key)
    assert settled["needs_attention"] is False
    served = await stack.http.get(
        f"/v1/invoices/{settled['billing']['invoice']}.xml", headers=stack.headers(belgian.api_key)
    )
    assert b'<cbc:EndpointID schemeID="0208">0403019261</cbc:EndpointID>' in served.content
    with stack.writes() as db:
        assert check_ledger(db).problems == []


async def test_the_delivery_schedule_writes_new_einvoices_to_the_outbox(stack: Stack, tmp_path: Path) -> None:
    """A worker with an outbox, as ``NETWORKCORE_EINVOICE_OUTBOX`` gives one: its Schedule writes the e-invoices
    issued since, per recipient; without an outbox the Schedule is removed."""
    session = await settle(stack, "DE*STN*E3001", MOTORBRIT)  # British: CII
    expected = tmp_path / "dp" / MOTORBRIT.id / f"{session['billing']['invoice']}.xml"
    schedule_id, task_queue = f"einvoices-{uuid.uuid4().hex[:8]}", f"einvoices-{uuid.uuid4()}"
    delivery = EInvoiceDeliveryActivities(stack.writes, outbox=tmp_path)
    with ThreadPoolExecutor(2) as executor:
        async with Worker(
            stack.temporal,
            task_queue=task_queue,
            workflows=[EInvoiceDeliveryWorkflow],
            activities=[delivery.deliver_einvoices],
            activity_executor=executor,
        ):
            await ensure_einvoice_schedule(
                stack.temporal, task_queue, every=timedelta(seconds=1), schedule_id=schedule_id
            )
            try:
                for _ in range(600):
                    if expected.exists():
                        break
                    await asyncio.sleep(0.1)
            finally:
                await ensure_einvoice_schedule(stack.temporal, task_queue, every=None, schedule_id=schedule_id)
    served = await stack.http.get(
        f"/v1/invoices/{session['billing']['invoice']}.xml", headers=stack.headers(MOTORBRIT.api_key)
    )
    assert expected.read_bytes() == served.content
    with pytest.raises(RPCError):
        await stack.temporal.get_schedule_handle(schedule_id).describe()
