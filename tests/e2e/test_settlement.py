"""Stages 1, 6 and 8 end to end: credit holds, FX at the recorded reference rate, and the ledger entries
of settled sessions, to the cent, through the real API, Temporal and the simulated CPOs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.seed import DemoPartner, ensure_demand_partner
from domain.fx.rates import FxRate
from domain.sessions.lifecycle import SessionStage
from messages.sessions import SettlementRetry
from persistence import fx, ledger
from persistence.ledger_check import check_ledger
from persistence.tables import FxRateRow, InvoiceSeriesRow, LedgerHoldResolutionRow, LedgerHoldRow, SessionRow
from tests.e2e.conftest import MOTORBRIT, ROAMLY, Stack
from workflows import search_attributes as sa

pytestmark = pytest.mark.asyncio(loop_scope="session")

CENT = Decimal("0.01")


def partner(stack: Stack, currency: str, *, limit: str = "1000.00", cap: str = "80.00") -> DemoPartner:
    """A demand partner of this test's own, so its balances move only with this test's sessions."""
    suffix = uuid.uuid4().hex[:8]
    new = DemoPartner(f"dp-test-{suffix}", f"Test partner {suffix}", "NL", "NL812345678B01", currency, f"key-{suffix}")
    terms = {
        "billing_currency": currency,
        "revenue_share": {"percent": "15", "basis": "COMMISSION"},
        "credit": {"limit": limit, "session_cap": cap, "hold_days": 7},
    }
    with stack.writes.begin() as db:
        ensure_demand_partner(db, new, terms, now=datetime.now(UTC))
    return new


def half_up(value: Decimal, quantum: Decimal = CENT) -> Decimal:
    return value.quantize(quantum, ROUND_HALF_UP)


def larger_remainder_part(whole: Decimal, fraction: Decimal) -> Decimal:
    """``fraction`` of ``whole`` as the second part of a two-way larger-remainder split: a tie (half a cent
    each) goes to the first part (``domain.money.allocate``), so this part rounds half down."""
    return (whole * fraction).quantize(CENT, ROUND_HALF_DOWN)


def expected_split(net: Decimal) -> dict[str, Decimal]:
    """The demo contracts, worked by hand: commission 8 % of the net, within 0.20..5.00; 15 % of it to the
    partner; the CPO sells for the rest. (A commission of 0.30 gives the partner 0.04: 4.5 cents, the tie
    to the platform.)"""
    net = half_up(net)
    commission = min(max(larger_remainder_part(net, Decimal("0.08")), Decimal("0.20")), Decimal("5.00"), net)
    share = larger_remainder_part(commission, Decimal("0.15"))
    return {"net": net, "cpo": net - commission, "platform": commission - share, "share": share}


def reference_rate(db: Session, quote: str, on: date) -> Decimal:
    """EUR→quote as the ECB published it on ``on`` or the last publication before."""
    return db.scalars(
        select(FxRateRow.rate)
        .where(FxRateRow.base == "EUR", FxRateRow.quote == quote, FxRateRow.as_of <= on)
        .order_by(FxRateRow.as_of.desc())
        .limit(1)
    ).one()


def postings(stack: Stack, session_id: str) -> set[tuple[str, str, int]]:
    with stack.writes() as db:
        booked = ledger.entry_postings(db, f"session-{session_id}:settlement")
    assert booked is not None, "the settled session has its entry"
    return set(booked)


def minor(amount: Decimal) -> int:
    return int(amount * 100)


def hold_of(stack: Stack, session_id: str) -> tuple[int, str | None, int | None]:
    with stack.writes() as db:
        hold = db.scalars(select(LedgerHoldRow).where(LedgerHoldRow.session_id == session_id)).one()
        resolution = db.get(LedgerHoldResolutionRow, hold.key)
        return (
            hold.amount_minor,
            None if resolution is None else resolution.state,
            (None if resolution is None else resolution.posted_minor),
        )


def last_numbers(stack: Stack) -> dict[tuple[str, str], int]:
    """The last invoice number issued in each series, by issuer and series."""
    with stack.writes() as db:
        return {(row.issuer, row.series): row.last_number for row in db.scalars(select(InvoiceSeriesRow))}


async def parked_settlement(stack: Stack, session_id: str, who: DemoPartner) -> dict[str, Any]:
    """The session once its settlement is parked: CLEARED, needs-attention and the refusal as the reason.
    (Needs-attention alone can still be the CDR-overdue flag of a loaded machine.)"""
    while True:
        parked = await stack.wait_for(session_id, SessionStage.CLEARED, api_key=who.api_key)
        if parked["needs_attention"] and (parked["reason"] or "").startswith("settlement stopped"):
            return parked
        await asyncio.sleep(0.1)


async def settle(stack: Stack, evse: str, who: DemoPartner, **start: Any) -> dict[str, Any]:
    session_id = await stack.start(evse, f"driver-{uuid.uuid4().hex[:6]}", api_key=who.api_key, **start)
    return await stack.wait_for(session_id, SessionStage.SETTLED, api_key=who.api_key)


async def test_a_swiss_session_billed_in_euros_is_booked_to_the_cent(stack: Stack) -> None:
    session = await settle(stack, "CH*VSW*E1001", ROAMLY)
    clearing, billing = session["clearing"], session["billing"]
    net = Decimal(clearing["total_cost"]["excl_vat"])
    assert clearing["currency"] == "CHF"
    assert billing["currency"] == "EUR"
    assert billing["tariff_currency"] == "CHF"
    assert Decimal(billing["tariff_net"]) == half_up(net)
    with stack.writes() as db:
        ended = db.get_one(SessionRow, session["id"]).ended_at
        assert ended is not None
        eur_chf = reference_rate(db, "CHF", ended.astimezone(UTC).date())
    # CHF→EUR is the inverse of the published EUR→CHF, kept to 10 decimals; the full-precision net price
    # is converted and rounded once, at the invoice line.
    chf_eur = (1 / eur_chf).quantize(Decimal("1e-10"), ROUND_HALF_UP)
    assert Decimal(billing["reference_rate"]) == chf_eur
    assert "ECB" in billing["rate_source"]
    billed_net = half_up(net * chf_eur)
    billed_vat = half_up(billed_net * Decimal("0.081"))  # Swiss VAT, charged under the platform's CHE id
    vat_in_chf = half_up(billed_vat * eur_chf)  # Art. 230 at the published EUR/CHF rate
    assert (Decimal(billing["net"]), Decimal(billing["vat"])) == (billed_net, billed_vat)
    assert Decimal(billing["total"]) == billed_net + billed_vat
    assert billing["invoice"].startswith("NC-")
    split = expected_split(net)
    cpo_vat = half_up(split["cpo"] * Decimal("0.081"))
    assert postings(stack, session["id"]) == {
        ("dp:dp-roamly:receivable", "EUR", minor(billed_net + billed_vat)),
        ("platform:fx_trading", "EUR", -minor(billed_net + billed_vat)),
        ("platform:fx_trading", "CHF", minor(split["net"] + vat_in_chf)),
        ("platform:vat_payable:CH", "CHF", -minor(vat_in_chf)),
        ("platform:vat_recoverable:CH", "CHF", minor(cpo_vat)),
        ("cpo:cpo-ch-vsw:payable", "CHF", -minor(split["cpo"] + cpo_vat)),
        ("platform:commission", "CHF", -minor(split["platform"])),
        ("dp:dp-roamly:revenue_share_payable", "CHF", -minor(split["share"])),
    }
    held, state, posted = hold_of(stack, session["id"])
    assert (held, state, posted) == (8000, "POSTED", min(8000, minor(billed_net + billed_vat)))
    result = await stack.result(session["id"])
    assert result.settlement is not None
    assert result.settlement.billed == billed_net + billed_vat
    assert result.settlement.commission == split["platform"]
    assert result.settlement.invoice == billing["invoice"]
    assert result.settlement.self_billed_invoice is not None
    assert result.settlement.self_billed_invoice.startswith("SB-CHVSW-")
    assert result.fx is not None
    assert result.fx.rate_as_of is not None


async def test_a_german_session_billed_in_pounds_books_both_currencies(stack: Stack) -> None:
    session = await settle(stack, "DE*STN*E3001", MOTORBRIT)
    net = Decimal(session["clearing"]["total_cost"]["excl_vat"])
    with stack.writes() as db:
        ended = db.get_one(SessionRow, session["id"]).ended_at
        assert ended is not None
        eur_gbp = reference_rate(db, "GBP", ended.astimezone(UTC).date())
    billed_net = half_up(net * eur_gbp)
    billed_vat = half_up(billed_net * Decimal("0.19"))  # German VAT: the charger is in Germany
    gbp_eur = (1 / eur_gbp).quantize(Decimal("1e-10"), ROUND_HALF_UP)
    assert session["billing"]["currency"] == "GBP"
    assert Decimal(session["billing"]["total"]) == billed_net + billed_vat
    booked = postings(stack, session["id"])
    assert ("dp:dp-motorbrit:receivable", "GBP", minor(billed_net + billed_vat)) in booked
    assert ("platform:vat_payable:DE", "EUR", -minor(half_up(billed_vat * gbp_eur))) in booked


async def test_a_same_currency_session_needs_no_conversion(stack: Stack) -> None:
    session = await settle(stack, "FR*BRN*E6001", ROAMLY)
    billing = session["billing"]
    assert billing["currency"] == billing["tariff_currency"] == "EUR"
    assert billing["reference_rate"] is None
    net = half_up(Decimal(session["clearing"]["total_cost"]["excl_vat"]))
    # The platform is VAT-registered in France and Roamly is not: French VAT.
    assert (Decimal(billing["net"]), Decimal(billing["vat"])) == (net, half_up(net * Decimal("0.20")))
    assert not any(code == "platform:fx_trading" for code, _, _ in postings(stack, session["id"]))


async def test_the_credit_limit_refuses_a_session_and_balances_show_where_a_partner_stands(stack: Stack) -> None:
    small = partner(stack, "EUR", limit="100.00", cap="80.00")
    # Beyond the limit on its own: refused before anything is asked of the CPO.
    refused = await stack.start("DE*STN*E3001", "driver-big", api_key=small.api_key, max_amount="150.00")
    session = await stack.wait_for(refused, SessionStage.REJECTED, api_key=small.api_key)
    assert session["reason"].startswith("CREDIT_LIMIT_EXCEEDED")
    assert "150.00 EUR exceeds the available credit of 100.00 EUR" in session["reason"]
    # One session holding 80 of the 100 leaves too little for a second.
    first = await stack.start("DE*STN*E3001", "sim-until-stop-1", api_key=small.api_key)
    await stack.wait_for(first, SessionStage.CHARGING, api_key=small.api_key)
    balance = (await stack.http.get("/v1/balance", headers=stack.headers(small.api_key))).json()
    assert balance["balances"] == [
        {
            "currency": "EUR",
            "owed": "0.00",
            "revenue_share": "0.00",
            "held": "80.00",
            "credit_limit": "100.00",
            "available_credit": "20.00",
        }
    ]
    second = await stack.start("DE*STN*E3001", "driver-second", api_key=small.api_key)
    session = await stack.wait_for(second, SessionStage.REJECTED, api_key=small.api_key)
    assert "CREDIT_LIMIT_EXCEEDED" in session["reason"]
    # A capped one fits; when both settle the holds are posted and the receivable carries the price.
    # (A cap finer than the cent, 19.995, is refused at the door: tests/e2e/test_partner_api.py.)
    third = await stack.start("DE*STN*E3001", "driver-third", api_key=small.api_key, max_amount="20.00")
    assert (await stack.http.post(f"/v1/sessions/{first}/stop", headers=stack.headers(small.api_key))).is_success
    settled = [await stack.wait_for(s, SessionStage.SETTLED, api_key=small.api_key) for s in (first, third)]
    assert hold_of(stack, third)[0] == 2000
    owed = sum(Decimal(s["billing"]["total"]) for s in settled)
    balance = (await stack.http.get("/v1/balance", headers=stack.headers(small.api_key))).json()
    [eur] = balance["balances"]
    assert Decimal(eur["owed"]) == owed
    assert Decimal(eur["held"]) == 0
    assert Decimal(eur["available_credit"]) == Decimal("100.00") - owed
    assert Decimal(eur["revenue_share"]) == sum(
        expected_split(Decimal(s["clearing"]["total_cost"]["excl_vat"]))["share"] for s in settled
    )


async def test_a_session_that_never_starts_releases_its_hold(stack: Stack) -> None:
    session_id = await stack.start("DE*STN*E3001", "sim-fail-hold")
    await stack.wait_for(session_id, SessionStage.START_FAILED)
    assert hold_of(stack, session_id) == (8000, "VOIDED", 0)
    with stack.writes() as db:
        assert ledger.entry_postings(db, f"session-{session_id}:settlement") is None


async def test_a_missing_rate_parks_the_settlement_until_ops_import_it_and_retry(stack: Stack) -> None:
    dirham = partner(stack, "AED")  # the ECB publishes no EUR/AED reference rate
    session_id = await stack.start("DE*STN*E3001", "driver-aed", api_key=dirham.api_key)
    parked = await parked_settlement(stack, session_id, dirham)
    assert "FxRateMissing" in parked["reason"]
    assert "no EUR/AED reference rate" in parked["reason"]
    with stack.writes() as db:
        assert ledger.entry_postings(db, f"session-{session_id}:settlement") is None
    assert hold_of(stack, session_id)[1] is None  # still held: the partner owes it, only unbooked
    # A retry before the fix parks it again, and books nothing.
    await stack.handle(session_id).signal("retry_settlement", SettlementRetry(note="too early"))
    with stack.writes.begin() as db:
        fx.store_rates(db, [FxRate("EUR", "AED", Decimal("4.2871"), date(2026, 1, 2), "test: ops import")])
    await stack.handle(session_id).signal("retry_settlement", SettlementRetry(requested_by="ops"))
    settled = await stack.wait_for(session_id, SessionStage.SETTLED, api_key=dirham.api_key)
    net = Decimal(settled["clearing"]["total_cost"]["excl_vat"])
    billed_net = half_up(net * Decimal("4.2871"))
    total = billed_net + half_up(billed_net * Decimal("0.19"))
    assert (Decimal(settled["billing"]["net"]), Decimal(settled["billing"]["total"])) == (billed_net, total)
    assert settled["needs_attention"] is False
    assert (f"dp:{dirham.id}:receivable", "AED", minor(total)) in postings(stack, session_id)
    with stack.writes() as db:
        assert check_ledger(db).ok


async def test_the_books_check_out_after_the_sessions_above(stack: Stack) -> None:
    with stack.writes() as db:
        report = check_ledger(db)
    assert report.problems == []
    assert report.settled_sessions > 0
    assert all(total == 0 for total in report.currency_totals.values())


async def test_a_stale_rate_parks_the_settlement_as_needing_attention(stack: Stack) -> None:
    riyal = partner(stack, "SAR")
    with stack.writes.begin() as db:  # the only EUR/SAR rate known is from 2010: older than the 3650-day limit
        fx.store_rates(db, [FxRate("EUR", "SAR", Decimal("5.3752"), date(2010, 1, 4), "test: an old publication")])
    session_id = await stack.start("DE*STN*E3001", "driver-sar", api_key=riyal.api_key)
    parked = await parked_settlement(stack, session_id, riyal)
    assert "FxRateStale" in parked["reason"]
    assert "EUR/SAR rate of 2010-01-04 is older than 3650 days" in parked["reason"]
    assert (await stack.handle(session_id).describe()).typed_search_attributes.get(sa.NEEDS_ATTENTION) is True
