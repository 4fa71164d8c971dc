"""Corrections of settled sessions end to end (real dev server, API, simulated CPOs, database): a credit CDR
reverses the settlement and issues credit notes, a re-issued CDR settles the session again, and operators
decide price disputes through the API. After each, the books and the invoices agree to the minor unit."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.seed import DemoPartner, ensure_demand_partner
from domain.invoicing.documents import DocumentKind
from domain.sessions.lifecycle import SessionStage
from domain.settlement.revenue_share import reversal_key, settlement_key
from messages.corrections import CorrectionResult, CorrectionState
from messages.workflow_ids import credit_correction_workflow_id, settlement_correction_workflow_id
from persistence import ledger, repositories
from persistence.ledger_check import check_ledger
from persistence.tables import (
    CdrRow,
    ClearingRow,
    ContractRow,
    DemandPartnerRow,
    DisputeRow,
    InvoiceLineRow,
    InvoiceRow,
    LedgerEntryRow,
    PayoutItemRow,
    SessionRow,
    SettlementCorrectionRow,
    SupersededDecisionRow,
    TariffRow,
)
from services.operators import add_operator, revoke_operator
from services.settlement_retry import RetryFilter, StoppedSession, retry_settlements, stopped_settlements
from tests.e2e.conftest import Stack
from tests.e2e.test_ocpi_intake import OCPI, cpo_headers, stamp
from tests.e2e.test_settlement import half_up, minor, partner, settle
from tests.e2e.test_settlement_retry import break_tariff

pytestmark = pytest.mark.asyncio(loop_scope="session")

EVSE = "DE*STN*E3001"  # a German charger: EUR tariff, so a EUR partner is billed without conversion


def original_cdr(stack: Stack, session_id: str) -> dict[str, Any]:
    with stack.writes() as db:
        (row,) = repositories.cdrs_for_session(db, session_id)
        body: dict[str, Any] = json.loads(row.body)
        return body


def negated(price: dict[str, Any]) -> dict[str, Any]:
    return {name: -Decimal(str(value)) for name, value in price.items()}


def credit_for(cdr: dict[str, Any], *, excl_vat: Decimal | None = None, suffix: str = "-C") -> dict[str, Any]:
    """The OCPI credit CDR of ``cdr``: its own id, the same data with negated costs."""
    credit = dict(cdr, id=cdr["id"][:37] + suffix, credit=True, credit_reference_id=cdr["id"])
    for field in ("total_cost", "total_energy_cost", "total_time_cost", "total_fixed_cost", "total_parking_cost"):
        if field in cdr:
            credit[field] = negated(cdr[field])
    if excl_vat is not None:
        credit["total_cost"] = {"excl_vat": excl_vat}
    credit["last_updated"] = stamp(datetime.now(UTC))
    return credit


async def post(stack: Stack, cdr: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    reply = await stack.http.post(f"{OCPI}/cdrs", content=json.dumps(cdr, default=str), headers=cpo_headers(stack))
    body: dict[str, Any] = reply.json()
    return reply.status_code, body


async def correction(stack: Stack, workflow_id: str) -> CorrectionResult:
    handle = stack.temporal.get_workflow_handle(workflow_id, result_type=CorrectionResult)
    result: CorrectionResult = await handle.result()
    return result


def correction_row(db: Session, workflow_id: str) -> SettlementCorrectionRow:
    return db.scalars(select(SettlementCorrectionRow).where(SettlementCorrectionRow.workflow_id == workflow_id)).one()


def entry_count(stack: Stack) -> int:
    with stack.writes() as db:
        return int(db.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0)


def session_documents(stack: Stack, session_id: str) -> list[tuple[str, str, int, int, int]]:
    """(kind, issuer, generation, net, VAT) of every invoice line of the session, in issue order."""
    with stack.writes() as db:
        rows = db.execute(
            select(
                InvoiceRow.kind,
                InvoiceRow.issuer,
                InvoiceLineRow.generation,
                InvoiceLineRow.net_minor,
                InvoiceLineRow.vat_minor,
            )
            .join(InvoiceRow, InvoiceRow.key == InvoiceLineRow.invoice_key)
            .where(InvoiceLineRow.session_id == session_id)
            .order_by(InvoiceLineRow.key)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_a_credit_cdr_reverses_the_settlement_and_a_reissued_cdr_settles_it_again(stack: Stack) -> None:
    who = partner(stack, "EUR")
    settled = await settle(stack, EVSE, who)
    session_id = settled["id"]
    original = original_cdr(stack, session_id)
    first_net = Decimal(settled["billing"]["net"])
    before = session_documents(stack, session_id)
    # The partner's invoice, the CPO's self-billed one, and the partner's revenue share on its statement.
    assert Counter(kind for kind, *_ in before) == {"INVOICE": 3}

    # Refused, and nothing moves: a partial credit, a credit of an unknown CDR, a credit without a reference.
    status, body = await post(stack, credit_for(original, excl_vat=Decimal("-1.00"), suffix="-P"))
    assert (status, body["status_code"]) == (200, 2001)
    assert "cancels the whole CDR" in body["status_message"]
    unknown = credit_for(original, suffix="-U") | {"credit_reference_id": "no-such-cdr"}
    assert "names no CDR" in (await post(stack, unknown))[1]["status_message"]
    unreferenced = credit_for(original, suffix="-N") | {"credit_reference_id": None}
    assert "credit_reference_id" in (await post(stack, unreferenced))[1]["status_message"]
    assert session_documents(stack, session_id) == before

    # The credit CDR: the settlement is reversed exactly, with a credit note for each invoice.
    credit = credit_for(original)
    status, body = await post(stack, credit)
    assert (status, body["status_code"]) == (201, 1000), body
    reversed_ = await correction(stack, credit_correction_workflow_id(session_id, 0))
    assert reversed_.state == CorrectionState.DONE
    assert len(reversed_.credit_notes) == 3
    with stack.writes() as db:
        booked = ledger.entry_postings(db, settlement_key(session_id))
        undone = ledger.entry_postings(db, reversal_key(session_id, 0))
        assert booked is not None
        assert undone == sorted((account, currency, -amount) for account, currency, amount in booked)
        notes = db.scalars(
            select(InvoiceRow).where(InvoiceRow.number.in_(reversed_.credit_notes)).order_by(InvoiceRow.key)
        ).all()
        for note in notes:
            original_invoice = db.get_one(InvoiceRow, note.corrects_key)
            assert note.kind == DocumentKind.CREDIT_NOTE.value
            assert (note.series, note.recipient, note.currency) == (
                original_invoice.series,
                original_invoice.recipient,
                original_invoice.currency,
            )
            assert note.document is not None
            if original_invoice.status == "DRAFT":  # the revenue-share statement of the month, still open
                assert "not issued yet" in note.document["corrects"]
                continue
            assert original_invoice.net_minor is not None
            assert original_invoice.vat_minor is not None
            assert (note.net_minor, note.vat_minor) == (-original_invoice.net_minor, -original_invoice.vat_minor)
            assert note.document["corrects"] == original_invoice.number
        queued: Counter[str] = Counter()
        for item in db.scalars(select(PayoutItemRow).where(PayoutItemRow.session_id == session_id)):
            queued[item.payee] += item.amount_minor
        assert set(queued.values()) == {0}  # what the settlement queued, taken back
        row = db.get_one(SessionRow, session_id)
        assert (row.stage, row.credited, row.settlement_generation) == ("SETTLED", True, 0)
        assert check_ledger(db).ok, check_ledger(db).problems
    view = await stack.get(session_id, who.api_key)
    assert (view["stage"], view["credited"], view["settlement"]) == ("SETTLED", True, 0)

    # The same credit again is a duplicate (nothing twice); another credit of the same CDR is refused.
    entries = entry_count(stack)
    status, body = await post(stack, credit)
    assert (status, body["status_message"]) == (200, "Success (already received)")
    again = credit_for(original, suffix="-D")
    assert "already credited" in (await post(stack, again))[1]["status_message"]
    assert entry_count(stack) == entries
    assert Counter(kind for kind, *_ in session_documents(stack, session_id)) == {"INVOICE": 3, "CREDIT_NOTE": 3}

    # The re-issued CDR: half the energy. It settles the session again, as a correction.
    reissued = dict(original, id=str(uuid.uuid4()), last_updated=stamp(datetime.now(UTC)))
    reissued["total_energy"] = Decimal(str(original["total_energy"])) / 2
    reissued["charging_periods"] = [
        period
        | {
            "dimensions": [
                dim | {"volume": Decimal(str(dim["volume"])) / 2} if dim["type"] == "ENERGY" else dim
                for dim in period["dimensions"]
            ]
        }
        for period in original["charging_periods"]
    ]
    status, body = await post(stack, reissued)
    assert (status, body["status_code"]) == (201, 1000), body
    resettled = await correction(stack, settlement_correction_workflow_id(session_id, 1))
    assert resettled.state == CorrectionState.DONE
    assert resettled.invoice is not None
    assert resettled.self_billed_invoice is not None
    view = await stack.get(session_id, who.api_key)
    assert view["billing"]["invoice"] == resettled.invoice
    assert (view["credited"], view["settlement"]) == (False, 1)
    second_net = Decimal(view["billing"]["net"])
    assert Decimal(0) < second_net < first_net
    with stack.writes() as db:
        clearing = repositories.clearing_of(db, session_id, 1)
        assert clearing is not None
        assert clearing.cdr_key == db.scalars(select(CdrRow.key).where(CdrRow.cdr_id == reissued["id"])).one()
        assert minor(half_up(clearing.total_excl_vat)) == minor(second_net)
        row = db.get_one(SessionRow, session_id)
        assert (row.credited, row.settlement_generation) == (False, 1)
        assert ledger.entry_postings(db, settlement_key(session_id, 1)) is not None
        done = db.scalars(
            select(SettlementCorrectionRow.state).where(SettlementCorrectionRow.session_id == session_id)
        ).all()
        assert done == ["DONE", "DONE"]
        report = check_ledger(db)
        assert report.ok, report.problems
    documents = session_documents(stack, session_id)
    assert Counter((kind, generation) for kind, _, generation, *_ in documents) == {
        ("INVOICE", 0): 3,
        ("CREDIT_NOTE", 0): 3,
        ("INVOICE", 1): 3,
    }
    # Each issuer's invoice and credit note of the first settlement add up to nothing.
    for issuer in {issuer for _, issuer, *_ in documents}:
        first = [(net, vat) for kind, who_, generation, net, vat in documents if who_ == issuer and generation == 0]
        assert sum(net for net, _ in first) == 0
        assert sum(vat for _, vat in first) == 0

    # A second re-issue without a credit is refused: the session has a CDR again.
    another = dict(reissued, id=str(uuid.uuid4()))
    assert "correct it with a credit CDR" in (await post(stack, another))[1]["status_message"]


async def overcharged_session(stack: Stack, who: Any) -> dict[str, Any]:
    """A session the simulated CPO prices 10 % above its tariff: flagged as a discrepancy, settled."""
    session_id = await stack.start(EVSE, f"sim-overcharge-{uuid.uuid4().hex[:6]}", api_key=who.api_key)
    session = await stack.wait_for(session_id, SessionStage.SETTLED, api_key=who.api_key)
    assert session["needs_attention"] is True
    assert session["clearing"]["discrepancy"] is True
    return session


async def test_operators_decide_disputes_through_the_api_on_the_record(stack: Stack) -> None:
    who = partner(stack, "EUR")
    operator = f"ops-{uuid.uuid4().hex[:6]}"
    with stack.writes.begin() as db:
        key = add_operator(db, operator, now=datetime.now(UTC))
    ops = {"Authorization": f"Bearer {key}"}
    accepted = await overcharged_session(stack, who)
    rejected = await overcharged_session(stack, who)

    assert (await stack.http.get("/v1/disputes")).status_code == 401
    assert (await stack.http.get("/v1/disputes", headers=stack.headers(who.api_key))).status_code == 403
    listed = (await stack.http.get("/v1/disputes", headers=ops)).json()
    open_ids = {d["session_id"] for d in listed["open"]}
    assert {accepted["id"], rejected["id"]} <= open_ids

    url = f"/v1/disputes/{accepted['id']}"
    assert (await stack.http.post(url, json={"decision": "ADJUST"}, headers=ops)).status_code == 422
    assert (await stack.http.post(url, json={"decision": "ACCEPT", "amount": "1"}, headers=ops)).status_code == 422
    assert (await stack.http.post(url, json={"decision": "SHRUG"}, headers=ops)).status_code == 422
    assert (await stack.http.post("/v1/disputes/no-such", json={"decision": "REJECT"}, headers=ops)).status_code == 404

    # ACCEPT: the CPO's claimed price becomes the session's; the session is settled again at it.
    reply = await stack.http.post(url, json={"decision": "ACCEPT", "note": "meter replaced"}, headers=ops)
    assert reply.status_code == 201, reply.text
    decision = reply.json()
    assert (decision["decision"], decision["decided_by"]) == ("ACCEPT", operator)
    assert Decimal(decision["agreed"]) == Decimal(decision["claimed"]) > Decimal(decision["official"])
    assert decision["correction"] == settlement_correction_workflow_id(accepted["id"], 1)
    done = await correction(stack, decision["correction"])
    assert done.state == CorrectionState.DONE
    assert len(done.credit_notes) == 3
    view = await stack.get(accepted["id"], who.api_key)
    assert Decimal(view["billing"]["net"]) == half_up(Decimal(decision["claimed"]))
    assert view["needs_attention"] is False

    # The same decision again is answered from the record; another one is refused.
    again = await stack.http.post(url, json={"decision": "ACCEPT", "note": "meter replaced"}, headers=ops)
    assert (again.status_code, again.json()["decided_at"]) == (200, decision["decided_at"])
    refused = await stack.http.post(url, json={"decision": "REJECT"}, headers=ops)
    assert refused.status_code == 409
    assert f"by {operator}" in refused.json()["detail"]

    # REJECT: the official price stands; nothing is booked.
    entries = entry_count(stack)
    reply = await stack.http.post(f"/v1/disputes/{rejected['id']}", json={"decision": "REJECT"}, headers=ops)
    assert reply.status_code == 201, reply.text
    assert reply.json()["correction"] is None
    assert entry_count(stack) == entries
    view = await stack.get(rejected["id"], who.api_key)
    assert view["billing"]["net"] == rejected["billing"]["net"]
    assert view["needs_attention"] is False

    with stack.writes() as db:
        recorded = db.scalars(
            select(DisputeRow).where(DisputeRow.session_id.in_([accepted["id"], rejected["id"]]))
        ).all()
        assert {(d.decision, d.decided_by) for d in recorded} == {("ACCEPT", operator), ("REJECT", operator)}
        report = check_ledger(db)
        assert report.ok, report.problems

    # A revoked key decides nothing more.
    with stack.writes.begin() as db:
        assert revoke_operator(db, operator, now=datetime.now(UTC))
    assert (await stack.http.get("/v1/disputes", headers=ops)).status_code == 403


async def test_a_decision_beyond_the_bounds_is_refused_naming_the_field_before_anything_is_reversed(
    stack: Stack,
) -> None:
    who = partner(stack, "EUR")
    with stack.writes.begin() as db:
        key = add_operator(db, f"ops-{uuid.uuid4().hex[:6]}", now=datetime.now(UTC))
    ops = {"Authorization": f"Bearer {key}"}
    session = await overcharged_session(stack, who)
    url = f"/v1/disputes/{session['id']}"
    entries = entry_count(stack)

    async def refused(body: dict[str, Any], status: int) -> str:
        reply = await stack.http.post(url, json=body, headers=ops)
        assert reply.status_code == status, reply.text
        detail: str = reply.json()["detail"]
        return detail

    # The probe's overflow and its cousins: refused at the door, with the field and the bound named.
    overflow = await refused({"decision": "ADJUST", "amount": "100000000000000000000"}, 422)
    assert overflow == ("amount 100000000000000000000 EUR is above the contract's maximum claim of 1000.00 EUR"), (
        "the default bound, without a maximum_claim in the CPO's contract"
    )
    assert "maximum claim" in await refused({"decision": "ADJUST", "amount": "1e30"}, 422)
    assert "amount must be a positive amount" in await refused({"decision": "ADJUST", "amount": "-5"}, 422)
    assert "amount must be a positive amount" in await refused({"decision": "ADJUST", "amount": "0"}, 422)
    assert "amount has more decimals than EUR allows (2)" in await refused(
        {"decision": "ADJUST", "amount": "11.505"}, 422
    )
    # A claim on record that cannot be accepted (negative, or absurd) is a conflict with what the CPO sent.
    with stack.writes.begin() as db:
        disputed = repositories.clearing_of(db, session["id"], 0)
        assert disputed is not None
        official, claimed = disputed.total_excl_vat, disputed.claimed_excl_vat
        disputed.claimed_excl_vat = Decimal("-7.50")
    assert "claimed is negative (-7.5000 EUR)" in await refused({"decision": "ACCEPT"}, 409)
    with stack.writes.begin() as db:
        disputed = repositories.clearing_of(db, session["id"], 0)
        assert disputed is not None
        disputed.claimed_excl_vat = Decimal("1000000000000")
    assert "claimed 1000000000000.0000 EUR is above the contract's maximum claim" in await refused(
        {"decision": "ACCEPT"}, 409
    )
    with stack.writes.begin() as db:
        disputed = repositories.clearing_of(db, session["id"], 0)
        assert disputed is not None
        disputed.claimed_excl_vat = claimed

    # Nothing was recorded, reversed or started: the dispute is still open, to be decided properly.
    assert entry_count(stack) == entries
    with stack.writes() as db:
        assert db.scalars(select(DisputeRow).where(DisputeRow.session_id == session["id"])).all() == []
        corrections = select(SettlementCorrectionRow).where(SettlementCorrectionRow.session_id == session["id"])
        assert db.scalars(corrections).all() == []
        assert db.get_one(SessionRow, session["id"]).settlement_generation == 0
    assert (await stack.get(session["id"], who.api_key))["needs_attention"] is True

    agreed = round((official + claimed) / 2, 2)
    reply = await stack.http.post(url, json={"decision": "ADJUST", "amount": str(agreed)}, headers=ops)
    assert reply.status_code == 201, reply.text
    assert (await correction(stack, reply.json()["correction"])).state == CorrectionState.DONE
    view = await stack.get(session["id"], who.api_key)
    assert Decimal(view["billing"]["net"]) == half_up(agreed)
    with stack.writes() as db:
        report = check_ledger(db)
        assert report.ok, report.problems


async def test_a_credit_on_a_monthly_statement_not_issued_yet_is_a_credit_note_of_its_own(stack: Stack) -> None:
    suffix = uuid.uuid4().hex[:8]
    monthly = DemoPartner(f"dp-test-{suffix}", f"Monthly {suffix}", "AT", "ATU13585627", "EUR", f"key-{suffix}")
    terms = {
        "billing_currency": "EUR",
        "revenue_share": {"percent": "15", "basis": "COMMISSION"},
        "credit": {"limit": "1000.00", "session_cap": "80.00", "hold_days": 7},
        "invoicing": {"model": "CHAIN", "cadence": "MONTHLY"},
    }
    with stack.writes.begin() as db:
        ensure_demand_partner(db, monthly, terms, now=datetime.now(UTC))
    settled = await settle(stack, EVSE, monthly)
    assert settled["billing"]["invoice"] is None  # on the open statement
    session_id = settled["id"]
    original = original_cdr(stack, session_id)

    assert (await post(stack, credit_for(original)))[0] == 201
    reversed_ = await correction(stack, credit_correction_workflow_id(session_id, 0))
    with stack.writes() as db:
        note = db.scalars(
            select(InvoiceRow).where(
                InvoiceRow.number.in_(reversed_.credit_notes), InvoiceRow.recipient == f"dp:{monthly.id}"
            )
        ).one()
        statement = db.get_one(InvoiceRow, note.corrects_key)
        assert (statement.status, statement.period) == ("DRAFT", note.document["corrects"].split()[1])  # type: ignore[index]
        assert "not issued yet" in note.document["corrects"]  # type: ignore[index]

    reissued = dict(original, id=str(uuid.uuid4()), last_updated=stamp(datetime.now(UTC)))
    assert (await post(stack, reissued))[0] == 201
    resettled = await correction(stack, settlement_correction_workflow_id(session_id, 1))
    assert resettled.invoice is not None  # a correction is invoiced on its own, not on the statement
    with stack.writes() as db:
        report = check_ledger(db)
        assert report.ok, report.problems


async def test_a_stopped_correction_is_resumed_by_settlement_retry_after_the_fix(stack: Stack) -> None:
    who = partner(stack, "EUR")
    session_id = (await settle(stack, EVSE, who))["id"]
    original = original_cdr(stack, session_id)
    assert (await post(stack, credit_for(original)))[0] == 201
    await correction(stack, credit_correction_workflow_id(session_id, 0))
    # The session's tariff version turns out unrateable before the corrected CDR comes.
    broken_key, good_body = break_tariff(stack, session_id)

    assert (await post(stack, dict(original, id=str(uuid.uuid4()))))[0] == 201
    workflow_id = settlement_correction_workflow_id(session_id, 1)
    stopped: list[StoppedSession] = []
    for _ in range(100):
        with stack.writes() as db:
            stopped = stopped_settlements(db, RetryFilter(session_id=session_id))
        if stopped:
            break
        await asyncio.sleep(0.1)
    [parked] = stopped
    assert (parked.stage, parked.error_type, parked.action, parked.workflow_id) == (
        SessionStage.SETTLED,
        "TariffInvalid",
        "resume correction",
        workflow_id,
    )
    with stack.writes() as db:
        assert stopped_settlements(db, RetryFilter(session_id=session_id, stage=SessionStage.CLEARED)) == []
        assert ledger.entry_postings(db, settlement_key(session_id, 1)) is None
        assert correction_row(db, workflow_id).error_type == "TariffInvalid"
    # The session shows the stop: settled, but needing attention, and why.
    view = await stack.get(session_id, who.api_key)
    assert (view["stage"], view["needs_attention"]) == ("SETTLED", True)
    assert view["reason"].startswith("correction stopped (TariffInvalid): ")

    with stack.writes.begin() as db:
        db.get_one(TariffRow, broken_key).body = good_body  # ops repair it
    summary = await retry_settlements(stack.temporal, stack.writes, stopped, requested_by="test", wait_s=30)
    assert (summary.matched, summary.signalled, summary.settled, summary.not_settled) == (1, 1, 1, {})
    assert (await correction(stack, workflow_id)).state == CorrectionState.DONE
    with stack.writes() as db:
        assert stopped_settlements(db, RetryFilter(session_id=session_id)) == []
        assert (correction_row(db, workflow_id).error_type, correction_row(db, workflow_id).reason) == (None, None)
        assert db.get_one(SessionRow, session_id).settlement_generation == 1
        assert (db.get_one(SessionRow, session_id).needs_attention, db.get_one(SessionRow, session_id).error_type) == (
            False,
            None,
        )
        report = check_ledger(db)
        assert report.ok, report.problems


async def parked_correction(stack: Stack, session_id: str) -> StoppedSession:
    for _ in range(100):
        with stack.writes() as db:
            stopped = stopped_settlements(db, RetryFilter(session_id=session_id))
        if stopped:
            [parked] = stopped
            return parked
        await asyncio.sleep(0.1)
    raise AssertionError(f"the correction of {session_id} did not stop")


async def test_a_dispute_whose_correction_parked_is_decided_again_and_settles_at_the_new_price(stack: Stack) -> None:
    who = partner(stack, "EUR")
    operator = f"ops-{uuid.uuid4().hex[:6]}"
    with stack.writes.begin() as db:
        key = add_operator(db, operator, now=datetime.now(UTC))
    ops = {"Authorization": f"Bearer {key}"}
    session = await overcharged_session(stack, who)
    session_id, url = session["id"], f"/v1/disputes/{session['id']}"
    with stack.writes.begin() as db:
        # Billed in a currency we have no rate for (the ECB publishes none for KES and no test stores one;
        # test_settlement stores an old EUR/SAR rate): the correction will stop before it converts the agreed
        # price.
        db.get_one(DemandPartnerRow, who.id).billing_currency = "KES"

    accepted = await stack.http.post(url, json={"decision": "ACCEPT", "note": "meter replaced"}, headers=ops)
    assert accepted.status_code == 201, accepted.text
    workflow_id = accepted.json()["correction"]
    assert workflow_id == settlement_correction_workflow_id(session_id, 1)
    parked = await parked_correction(stack, session_id)
    assert (parked.error_type, parked.workflow_id) == ("FxRateMissing", workflow_id)
    assert (await stack.http.post(url, json={"decision": "ACCEPT"}, headers=ops)).status_code == 200  # the same

    # Ops put the billing currency right and, having talked to the CPO, agree on another price instead.
    with stack.writes.begin() as db:
        db.get_one(DemandPartnerRow, who.id).billing_currency = "EUR"
    official, claimed = Decimal(accepted.json()["official"]), Decimal(accepted.json()["claimed"])
    agreed = round((official + claimed) / 2, 2)
    again = await stack.http.post(url, json={"decision": "ADJUST", "amount": str(agreed)}, headers=ops)
    assert again.status_code == 201, again.text
    assert (again.json()["decision"], Decimal(again.json()["agreed"]), again.json()["correction"]) == (
        "ADJUST",
        agreed,
        workflow_id,
    )
    assert (await correction(stack, workflow_id)).state == CorrectionState.DONE
    view = await stack.get(session_id, who.api_key)
    assert Decimal(view["billing"]["net"]) == half_up(agreed)
    assert (view["stage"], view["needs_attention"]) == ("SETTLED", False)
    assert (await stack.http.post(url, json={"decision": "REJECT"}, headers=ops)).status_code == 409  # settled now
    with stack.writes() as db:
        [dispute] = db.scalars(select(DisputeRow).where(DisputeRow.session_id == session_id)).all()
        assert (dispute.decision, dispute.agreed_excl_vat) == ("ADJUST", agreed)
        [superseded] = db.scalars(
            select(SupersededDecisionRow).where(SupersededDecisionRow.dispute_key == dispute.key)
        ).all()
        assert (superseded.decision, superseded.agreed_excl_vat, superseded.note) == (
            "ACCEPT",
            claimed,
            "meter replaced",
        )
        assert (superseded.decided_by, superseded.superseded_by) == (operator, operator)
        clearings = select(ClearingRow.total_excl_vat).where(ClearingRow.session_id == session_id)
        assert db.scalars(clearings.order_by(ClearingRow.generation)).all() == [official, agreed]
        assert stopped_settlements(db, RetryFilter(session_id=session_id)) == []
        report = check_ledger(db)
        assert report.ok, report.problems
    # Billed at the original price, credited once, billed at the agreed price once: nothing at the replaced one.
    documents = session_documents(stack, session_id)
    assert Counter((kind, generation) for kind, _, generation, *_ in documents) == {
        ("INVOICE", 0): 3,
        ("CREDIT_NOTE", 0): 3,
        ("INVOICE", 1): 3,
    }


async def test_a_dispute_whose_correction_parked_after_converting_is_resumed_not_decided_again(stack: Stack) -> None:
    who = partner(stack, "EUR")
    with stack.writes.begin() as db:
        key = add_operator(db, f"ops-{uuid.uuid4().hex[:6]}", now=datetime.now(UTC))
    ops = {"Authorization": f"Bearer {key}"}
    session = await overcharged_session(stack, who)
    session_id, url = session["id"], f"/v1/disputes/{session['id']}"
    with stack.writes.begin() as db:
        # The partner's frozen contract turns out broken: the correction stops when it books.
        contract = db.get_one(ContractRow, db.get_one(SessionRow, session_id).demand_partner_contract_key)
        good_terms = contract.terms
        contract.terms = good_terms | {"revenue_share": {"percent": "15", "basis": "TURNOVER"}}

    accepted = await stack.http.post(url, json={"decision": "ACCEPT"}, headers=ops)
    assert accepted.status_code == 201, accepted.text
    parked = await parked_correction(stack, session_id)
    assert parked.error_type == "ContractTermsInvalid"  # the refusal's own type, not the ValueError behind it
    refused = await stack.http.post(url, json={"decision": "REJECT"}, headers=ops)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"correction {parked.workflow_id} stopped (ContractTermsInvalid) after converting the ACCEPT price of "
        f"{Decimal(accepted.json()['claimed']):.4f} EUR, which no longer changes: fix the cause and resume it "
        "with `networkcore settlement retry`"
    )
    with stack.writes.begin() as db:
        db.get_one(ContractRow, contract.key).terms = good_terms
    summary = await retry_settlements(stack.temporal, stack.writes, [parked], requested_by="test", wait_s=30)
    assert (summary.signalled, summary.settled) == (1, 1)
    view = await stack.get(session_id, who.api_key)
    assert Decimal(view["billing"]["net"]) == half_up(Decimal(accepted.json()["claimed"]))
    with stack.writes() as db:
        assert (
            db.scalars(
                select(SupersededDecisionRow.key).join(DisputeRow).where(DisputeRow.session_id == session_id)
            ).all()
            == []
        )
        report = check_ledger(db)
        assert report.ok, report.problems
