"""A demand partner's sessions as the API shows them: storing a new one (``POST /v1/sessions``) and the read
models of ``GET /v1/sessions`` and ``/{id}`` (with its clearing and billing), as frozen values, not rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.money import from_minor
from domain.sessions.lifecycle import SessionStage
from persistence import invoices
from persistence import repositories as repo
from persistence.tables import CdrRow, ClearingRow, FxConversionRow, InvoiceLineRow, InvoiceRow, QuoteRow, SessionRow


@dataclass(frozen=True, slots=True)
class RegisteredSession:
    """A session as its start request stored it."""

    id: str
    demand_partner_id: str
    idempotency_key: str | None
    request_fingerprint: str
    evse_id: str
    driver_reference: str
    max_amount: Decimal | None
    stage: SessionStage
    created_at: datetime
    quote_id: str | None = None


def _registered(row: SessionRow) -> RegisteredSession:
    return RegisteredSession(
        id=row.id,
        demand_partner_id=row.demand_partner_id,
        idempotency_key=row.idempotency_key,
        request_fingerprint=row.request_fingerprint,
        evse_id=row.evse_id,
        driver_reference=row.driver_reference,
        max_amount=row.max_amount,
        stage=SessionStage(row.stage),
        created_at=row.created_at,
        quote_id=row.quote_id,
    )


def session_by_idempotency_key(db: Session, demand_partner_id: str, key: str) -> RegisteredSession | None:
    row = repo.session_by_idempotency_key(db, demand_partner_id, key)
    return None if row is None else _registered(row)


def store_session(db: Session, new: RegisteredSession) -> tuple[RegisteredSession, bool]:
    """Store and commit the new session. Returns the stored session and whether it is the new one: when a
    request with the same idempotency key stored its session first, that session (and False)."""
    db.add(
        SessionRow(
            id=new.id,
            demand_partner_id=new.demand_partner_id,
            idempotency_key=new.idempotency_key,
            request_fingerprint=new.request_fingerprint,
            evse_id=new.evse_id,
            driver_reference=new.driver_reference,
            max_amount=new.max_amount,
            quote_id=new.quote_id,
            stage=new.stage.value,
            needs_attention=False,
            kwh=0,
            created_at=new.created_at,
            updated_at=new.created_at,
        )
    )
    try:
        db.commit()
    except IntegrityError:
        db.rollback()  # the same key raced us: theirs is the session
        key = new.idempotency_key
        existing = None if key is None else session_by_idempotency_key(db, new.demand_partner_id, key)
        if existing is None:
            raise
        return existing, False
    return new, True


@dataclass(frozen=True, slots=True)
class ClearingView:
    """Stage 5: the session rated at the official price, beside the CPO's claim."""

    currency: str
    total_excl_vat: Decimal
    total_incl_vat: Decimal
    claimed_excl_vat: Decimal
    claimed_incl_vat: Decimal
    discrepancy: bool
    tolerance: Decimal
    rating: dict[str, Any]
    quoted: dict[str, Decimal] | None = None  # the CPO price of the session's quote, beside the actual one


def _quoted(db: Session, session: SessionRow) -> dict[str, Decimal] | None:
    quote = None if session.quote_id is None else db.get(QuoteRow, session.quote_id)
    if quote is None:
        return None
    price = quote.body["breakdown"]["cpo_price"]
    return {"excl_vat": Decimal(price["excl_vat"]), "incl_vat": Decimal(price["incl_vat"])}


@dataclass(frozen=True, slots=True)
class BillingView:
    """Stage 6: what the demand partner is billed, in its currency; VAT, total and invoice once invoiced."""

    currency: str
    net: Decimal
    vat: Decimal | None
    total: Decimal | None
    invoice: str | None
    tariff_currency: str
    tariff_net: Decimal
    reference_rate: Decimal | None
    rate_source: str | None
    rate_as_of: date | None


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as its demand partner sees it; ``live`` when stage and attention come from the workflow."""

    id: str
    stage: SessionStage
    needs_attention: bool
    reason: str | None
    evse_id: str
    driver_reference: str
    cpo_id: str | None
    country: str | None
    location_id: str | None
    currency: str | None
    cpo_session_id: str | None
    cpo_status: str | None
    kwh: Decimal
    started_at: datetime | None
    ended_at: datetime | None
    cdr_id: str | None
    created_at: datetime
    updated_at: datetime
    settlement: int
    credited: bool
    quote_id: str | None = None
    live: bool = False
    clearing: ClearingView | None = None
    billing: BillingView | None = None


def _clearing(row: ClearingRow | None, quoted: dict[str, Decimal] | None = None) -> ClearingView | None:
    if row is None:
        return None
    return ClearingView(
        currency=row.currency,
        total_excl_vat=row.total_excl_vat,
        total_incl_vat=row.total_incl_vat,
        claimed_excl_vat=row.claimed_excl_vat,
        claimed_incl_vat=row.claimed_incl_vat,
        discrepancy=row.discrepancy,
        tolerance=row.tolerance,
        rating=row.report,
        quoted=quoted,
    )


def _billing(row: FxConversionRow | None, invoiced: tuple[InvoiceLineRow, InvoiceRow] | None) -> BillingView | None:
    if row is None:
        return None
    currency = row.to_currency
    line, invoice = invoiced if invoiced is not None else (None, None)
    return BillingView(
        currency=currency,
        net=from_minor(row.converted_minor, currency),
        vat=None if line is None else from_minor(line.vat_minor, currency),
        total=None if line is None else from_minor(line.net_minor + line.vat_minor, currency),
        invoice=None if invoice is None else invoice.number,
        tariff_currency=row.from_currency,
        tariff_net=from_minor(row.amount_minor, row.from_currency),
        reference_rate=row.reference_rate,
        rate_source=row.rate_source,
        rate_as_of=row.rate_as_of,
    )


def _view(
    db: Session, row: SessionRow, *, clearing: ClearingView | None = None, billing: BillingView | None = None
) -> SessionView:
    cdr = None if row.cdr_key is None else db.get(CdrRow, row.cdr_key)
    return SessionView(
        id=row.id,
        stage=SessionStage(row.stage),
        needs_attention=row.needs_attention,
        reason=row.reason,
        evse_id=row.evse_id,
        driver_reference=row.driver_reference,
        cpo_id=row.cpo_id,
        country=row.country,
        location_id=row.location_id,
        currency=row.currency,
        cpo_session_id=row.cpo_session_id,
        cpo_status=row.cpo_status,
        kwh=row.kwh,
        started_at=row.started_at,
        ended_at=row.ended_at,
        cdr_id=None if cdr is None else cdr.cdr_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        settlement=row.settlement_generation,
        credited=row.credited,
        quote_id=row.quote_id,
        clearing=clearing,
        billing=billing,
    )


def session_view(db: Session, demand_partner_id: str, session_id: str) -> SessionView | None:
    """One of the partner's sessions with its clearing and billing; None if it is not the partner's."""
    row = repo.session_for_demand_partner(db, demand_partner_id, session_id)
    if row is None:
        return None
    return _view(
        db,
        row,
        clearing=_clearing(repo.clearing_for_session(db, row.id), _quoted(db, row)),
        billing=_billing(repo.conversion_for_session(db, row.id), invoices.platform_line(db, row.id)),
    )


def session_views(
    db: Session, where: repo.SessionFilter, *, limit: int, after: tuple[datetime, str] | None
) -> list[SessionView]:
    """A page of the partner's sessions, newest first (without clearing and billing: GET the session)."""
    return [_view(db, row) for row in repo.list_sessions(db, where, limit=limit, after=after)]
