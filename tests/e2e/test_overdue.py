"""Overdue and reminders over the real stack: an invoice open past its grace refuses a remote start and a CPO's
real-time token authorisation (OVERDUE; OCPI NO_CREDIT) while a running session charges on and settles; the
balance says what is overdue and that new sessions are blocked; the payment, imported from the bank
statement, lifts the block at once. Reminders are issued by the daily Schedule and by the run ops start
(``networkcore bank reminders``), once per invoice and step, and served to their partner only, as JSON, a
page and a PDF, paged."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cli import bank as bank_cli
from cli.seed import DemoPartner, ensure_demand_partner
from domain.sessions.lifecycle import SessionStage
from messages.reminders import ReminderRun
from tests.e2e.conftest import MOTORBRIT, Stack
from tests.e2e.test_tokens import authorize, register, rfid_uid
from tests.integration.test_dunning import issue, pay
from tests.integration.test_invoices import PLATFORM
from workers.main import ensure_reminder_schedule

pytestmark = pytest.mark.asyncio(loop_scope="session")


def own_partner(stack: Stack, **dunning: object) -> DemoPartner:
    suffix = uuid.uuid4().hex[:8]
    partner = DemoPartner(f"dp-late-{suffix}", f"Late payer {suffix}", "DE", "DE281045677", "EUR", f"k-late-{suffix}")
    terms = {
        "revenue_share": {"percent": "15", "basis": "COMMISSION"},
        "credit": {"limit": "1000.00", "session_cap": "80.00"},
        "dunning": dunning,
    }
    with stack.writes.begin() as db:
        ensure_demand_partner(db, partner, terms, now=datetime.now(UTC))
    return partner


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


async def test_an_overdue_invoice_refuses_new_sessions_until_it_is_paid(stack: Stack) -> None:
    late = own_partner(stack, grace_days=7)
    running = await stack.start("DE*STN*E3001", "sim-until-stop-overdue", api_key=late.api_key)
    await stack.wait_for(running, SessionStage.CHARGING, api_key=late.api_key)
    uid = rfid_uid()
    await register(stack, uid, late.api_key)

    # Issued 22 days ago, due 8 days ago: one day past the 7 days' grace.
    number, total = issue(stack.writes, late.id, 10000, at=days_ago(22))
    due = (days_ago(22) + timedelta(days=14)).date()
    balance = (await stack.http.get("/v1/balance", headers=stack.headers(late.api_key))).json()
    assert balance["overdue"] == [{"currency": "EUR", "amount": "119.00", "oldest_due_date": due.isoformat()}]
    assert balance["new_sessions_blocked"] is True

    refused = await stack.start("DE*STN*E3001", "driver-overdue", api_key=late.api_key)
    session = await stack.wait_for(refused, SessionStage.REJECTED, api_key=late.api_key)
    assert session["reason"].startswith("OVERDUE")
    assert f"invoice {number} was due on {due.isoformat()}" in session["reason"]
    answer = (await authorize(stack, uid)).json()["data"]
    assert answer["allowed"] == "NO_CREDIT"
    assert answer["info"]["text"].startswith(f"OVERDUE: invoice {number} was due on {due.isoformat()}")
    # The session that was running when the invoice fell overdue is never cut.
    assert (await stack.get(running, late.api_key))["stage"] == SessionStage.CHARGING.value

    pay(stack.writes, number, total)
    balance = (await stack.http.get("/v1/balance", headers=stack.headers(late.api_key))).json()
    assert (balance["overdue"], balance["new_sessions_blocked"]) == ([], False)
    assert (await authorize(stack, uid)).json()["data"]["allowed"] == "ALLOWED"
    again = await stack.start("DE*STN*E3001", "driver-paid-up", api_key=late.api_key)
    await stack.wait_for(again, SessionStage.CHARGING, SessionStage.SETTLED, api_key=late.api_key)
    assert (await stack.http.post(f"/v1/sessions/{running}/stop", headers=stack.headers(late.api_key))).is_success
    await stack.wait_for(running, SessionStage.SETTLED, api_key=late.api_key)


async def test_reminders_are_issued_once_and_served_to_their_partner_only(stack: Stack) -> None:
    late = own_partner(stack, late_interest_percent="9.00")
    today = datetime.now(UTC).date()
    first, _ = issue(stack.writes, late.id, 10000, at=days_ago(14 + 28))  # due 28 days ago: SECOND
    second, _ = issue(stack.writes, late.id, 5000, at=days_ago(14 + 1))  # due yesterday: FRIENDLY

    out = io.StringIO()
    assert bank_cli.run_reminders(stack.writes, PLATFORM, on=today, as_json=True, out=out) == 0
    issued = [r for r in json.loads(out.getvalue())["issued"] if r["partner"] == late.id]
    assert [(r["level"], r["invoices"], r["fees"]) for r in issued] == [
        ("FRIENDLY", [second], "0.00"),
        ("SECOND", [first], "40.00"),
    ]
    # 119.00 at 9 % for 28 days: 0.82.
    assert issued[1]["interest"] == "0.82"
    again = io.StringIO()
    assert bank_cli.run_reminders(stack.writes, PLATFORM, on=today, as_json=True, out=again) == 0
    assert [r for r in json.loads(again.getvalue())["issued"] if r["partner"] == late.id] == []

    headers = stack.headers(late.api_key)
    page = (await stack.http.get("/v1/reminders", params={"limit": 1}, headers=headers)).json()
    assert [r["level"] for r in page["data"]] == ["FRIENDLY"]
    rest = await stack.http.get("/v1/reminders", params={"cursor": page["next_cursor"]}, headers=headers)
    (reminder,) = rest.json()["data"]
    assert rest.json()["next_cursor"] is None
    assert (reminder["level"], reminder["invoices"], reminder["total"]) == ("SECOND", [first], "159.82")
    assert (await stack.http.get("/v1/reminders", params={"cursor": "nope"}, headers=headers)).status_code == 400

    base = reminder["links"]["self"]
    document = (await stack.http.get(base, headers=headers)).json()
    assert document["totals"] == {"open": "119.00", "interest": "0.82", "fees": "40.00", "due": "159.82"}
    assert document["items"][0]["due_date"] == (today - timedelta(days=28)).isoformat()
    html = await stack.http.get(reminder["links"]["html"], headers=headers)
    assert html.headers["content-type"].startswith("text/html")
    assert reminder["number"] in html.text
    assert first in html.text
    pdf = await stack.http.get(reminder["links"]["pdf"], headers=headers)
    assert (pdf.headers["content-type"], pdf.content[:5]) == ("application/pdf", b"%PDF-")

    other = stack.headers(MOTORBRIT.api_key)
    for link in (base, reminder["links"]["html"], reminder["links"]["pdf"]):
        assert (await stack.http.get(link, headers=other)).status_code == 404
    listed = (await stack.http.get("/v1/reminders", params={"limit": 200}, headers=other)).json()["data"]
    assert reminder["number"] not in {r["number"] for r in listed}


async def test_the_daily_schedule_issues_the_reminders_due(stack: Stack) -> None:
    late = own_partner(stack)
    number, _ = issue(stack.writes, late.id, 2000, at=days_ago(14 + 14))  # due 14 days ago: FIRST
    schedule_id = f"reminders-{uuid.uuid4().hex[:8]}"
    on = datetime.now(UTC).date()
    handle = await ensure_reminder_schedule(
        stack.temporal, stack.task_queue, schedule_id=schedule_id, run=ReminderRun(on=on)
    )
    try:
        await handle.trigger()
        listed: list[dict[str, object]] = []
        for _ in range(300):
            reply = await stack.http.get("/v1/reminders", headers=stack.headers(late.api_key))
            listed = reply.json()["data"]
            if listed:
                break
            await asyncio.sleep(0.1)
    finally:
        await handle.delete()
    assert [(r["level"], r["invoices"], r["issue_date"]) for r in listed] == [("FIRST", [number], on.isoformat())]
