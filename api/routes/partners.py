"""Demand partners, for operators: onboard one (``POST /v1/partners``), issue and revoke its API keys, and
deactivate it. A revoked key or a deactivated partner's keys stop working at once in this process (the
credential cache forgets them) and within ``api.credentials.CREDENTIAL_TTL_S`` in any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, OperatorDep
from api.responses import OPERATORS_401, refusals
from api.schemas import (
    MAX_KEY,
    PRINTABLE_ASCII,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyRead,
    EInvoiceTermsIn,
    PartnerCreate,
    PartnerRead,
)
from domain.einvoice.model import Contact, ElectronicAddress
from domain.partners import DemandPartnerTerms, FieldInvalid, PostalAddress
from domain.settlement.contracts import EInvoiceTerms
from services import partners as service

PartnerIdPath = Annotated[str, Path(max_length=64, pattern=PRINTABLE_ASCII)]
router = APIRouter(prefix="/v1/partners", tags=["partners (operators)"])

NOT_FOUND = refusals(401, 403, 404, 422, why={**OPERATORS_401, 404: "No such demand partner (or key)"})


@router.post(
    "",
    status_code=201,
    response_model=PartnerRead,
    responses=refusals(400, 401, 403, 409, 422, why={**OPERATORS_401, 409: "A partner with this id exists"}),
    summary="Onboard a demand partner and its contract",
)
async def add_partner(body: PartnerCreate, _: OperatorDep, context: ContextDep) -> PartnerRead:
    """Issue its first API key with ``POST /v1/partners/{id}/keys``."""
    application = service.Application(
        partner_id=body.id,
        legal_entity=body.legal_entity,
        address=PostalAddress(
            body.address.street,
            body.address.postcode,
            body.address.city,
            building_number=body.address.building_number,
        ),
        country=body.country,
        vat_id=body.vat_id,
        billing_currency=body.billing_currency,
        iban=body.iban,
        bic=body.bic,
        terms=DemandPartnerTerms(
            share_percent=body.terms.share_percent,
            share_basis=body.terms.share_basis,
            credit_limit=body.terms.credit_limit,
            session_cap=body.terms.session_cap,
            cadence=body.terms.cadence,
            taxable_dealer=body.terms.taxable_dealer,
            payment_terms_days=body.terms.payment_terms_days,
            einvoice=_einvoice_terms(body.terms.einvoice),
        ),
    )

    def onboard() -> PartnerRead:
        with context.writes.begin() as db:
            partner = service.onboard_demand_partner(db, application, now=datetime.now(UTC))
        return PartnerRead(
            id=partner.id,
            legal_entity=partner.legal_entity,
            country=partner.country,
            vat_id=partner.vat_id,
            billing_currency=partner.billing_currency,
            active=partner.active,
        )

    try:
        return await run_in_threadpool(onboard)
    except FieldInvalid as invalid:
        raise HTTPException(422, str(invalid)) from invalid
    except service.PartnerExists as exists:
        raise HTTPException(409, str(exists)) from exists


def _einvoice_terms(body: EInvoiceTermsIn | None) -> EInvoiceTerms:
    """As written; onboarding checks them (``FieldInvalid`` on the field ``einvoice``)."""
    if body is None:
        return EInvoiceTerms()
    address, contact = body.electronic_address, body.contact
    return EInvoiceTerms(
        format=body.format,
        buyer_reference=body.buyer_reference,
        electronic_address=None if address is None else ElectronicAddress(address.scheme, address.id),
        contact=None if contact is None else Contact(contact.name, contact.telephone, contact.email),
        legal_registration=body.legal_registration,
    )


@router.get("/{partner_id}/keys", response_model=list[ApiKeyRead], responses=NOT_FOUND, summary="A partner's keys")
async def list_keys(partner_id: PartnerIdPath, _: OperatorDep, context: ContextDep) -> list[ApiKeyRead]:
    def load() -> list[ApiKeyRead]:
        with context.reads() as db:
            keys = service.api_keys(db, partner_id)
        return [
            ApiKeyRead(
                id=k.id, prefix=k.prefix, created_at=k.created_at, expires_at=k.expires_at, revoked_at=k.revoked_at
            )
            for k in keys
        ]

    try:
        return await run_in_threadpool(load)
    except service.PartnerNotFound as error:
        raise HTTPException(404, f"no demand partner {partner_id}") from error


@router.post(
    "/{partner_id}/keys",
    status_code=201,
    response_model=ApiKeyIssued,
    responses=refusals(
        400, 401, 403, 404, 409, 422, why={**OPERATORS_401, 409: "Two valid keys already, or the partner is inactive"}
    ),
    summary="Issue an API key (shown once); a partner holds at most two valid keys, to rotate them",
)
async def add_key(partner_id: PartnerIdPath, body: ApiKeyCreate, _: OperatorDep, context: ContextDep) -> ApiKeyIssued:
    def issue() -> service.IssuedKey:
        with context.writes.begin() as db:
            return service.issue_api_key(
                db, partner_id, now=datetime.now(UTC), valid_for=timedelta(days=body.valid_days)
            )

    try:
        issued = await run_in_threadpool(issue)
    except service.PartnerNotFound as error:
        raise HTTPException(404, f"no demand partner {partner_id}") from error
    except service.KeyRefused as refused:
        raise HTTPException(409, str(refused)) from refused
    return ApiKeyIssued(id=issued.id, key=issued.key, expires_at=issued.expires_at)


@router.delete(
    "/{partner_id}/keys/{key_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
    summary="Revoke an API key: refused from now on",
)
async def revoke_key(
    partner_id: PartnerIdPath, key_id: Annotated[int, Path(ge=1, le=MAX_KEY)], _: OperatorDep, context: ContextDep
) -> Response:
    def revoke() -> str:
        with context.writes.begin() as db:
            return service.revoke_api_key(db, partner_id, key_id, now=datetime.now(UTC))

    try:
        digest = await run_in_threadpool(revoke)
    except service.KeyNotFound as error:
        raise HTTPException(404, str(error)) from error
    context.partners.forget(digest)
    return Response(status_code=204)


@router.post(
    "/{partner_id}/deactivate",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
    summary="Deactivate a demand partner: its keys are refused from now on (its books stay)",
)
async def deactivate_partner(partner_id: PartnerIdPath, _: OperatorDep, context: ContextDep) -> Response:
    def deactivate() -> list[str]:
        with context.writes.begin() as db:
            return service.deactivate_demand_partner(db, partner_id)

    try:
        digests = await run_in_threadpool(deactivate)
    except service.PartnerNotFound as error:
        raise HTTPException(404, f"no demand partner {partner_id}") from error
    context.partners.forget(*digests)
    return Response(status_code=204)
