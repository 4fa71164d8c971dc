"""``networkcore partners add-dp|keys add|keys revoke|keys list|deactivate``: onboard demand partners without
editing the seed, and manage their API keys (shown once; only their SHA-256 is kept).
``partners invite-cpo|connect-cpo``: connect a CPO over OCPI (``services/ocpi/credentials.py``), invited
with its company details and contract terms (``services/cpo_onboarding.py``), which ``partners cpo-terms``
changes later;
``partners sync-cpo``: pull its Locations and Tariffs again and wait for the result
(``services/ocpi/cpo_sync.py``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from adapters.temporal_client import connect_temporal
from cli.direct_debits import mandate_arguments, run_mandate
from domain.collections.methods import CollectionMethod
from domain.einvoice.model import Contact, EInvoiceFormat, ElectronicAddress
from domain.invoicing.documents import Cadence
from domain.invoicing.payment import DEFAULT_PAYMENT_TERMS_DAYS
from domain.partners import DemandPartnerTerms, FieldInvalid, PostalAddress
from domain.payouts.funding import FundingMode
from domain.payouts.schedule import PayoutFrequency, Weekday
from domain.settlement.contracts import EInvoiceTerms, ShareBasis
from messages.cpo_sync import CpoSyncInput, CpoSyncResult
from persistence.db import SessionFactory
from persistence.partners import StoredKey
from services import cpo_onboarding, partners
from services.ocpi import credentials
from services.ocpi.cpo_sync import start_cpo_sync, start_sync_after_registration
from services.ocpi.credentials import OurPlatform


@dataclass(frozen=True, slots=True)
class TemporalTarget:
    """Where the CPO sync workflows run."""

    address: str
    namespace: str
    task_queue: str


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal amount") from error


def arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add-dp", help="onboard a demand partner and its contract")
    add.add_argument("id", help="its id, e.g. dp-roamly")
    add.add_argument("--legal-entity", required=True)
    add.add_argument("--street", required=True, help="the street name (the building number apart)")
    add.add_argument("--building-number", help="e.g. 100 or 12a; may be left out")
    add.add_argument("--postcode", required=True)
    add.add_argument("--city", required=True, help="the town")
    add.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, where it is registered")
    add.add_argument("--vat-id", required=True, help="with its country prefix, e.g. NL812345678B01")
    add.add_argument("--currency", required=True, help="its billing currency (ISO 4217)")
    add.add_argument("--share-percent", type=_amount, required=True, help="its revenue share, in percent")
    add.add_argument("--share-basis", choices=[b.value for b in ShareBasis], default=ShareBasis.COMMISSION.value)
    add.add_argument("--credit-limit", type=_amount, required=True, help="in its billing currency")
    add.add_argument("--session-cap", type=_amount, required=True, help="a session's hold without max_amount")
    add.add_argument("--cadence", choices=[c.value for c in Cadence], default=Cadence.PER_SESSION.value)
    add.add_argument("--taxable-dealer", action="store_true", help="reselling electricity is its main activity")
    add.add_argument(
        "--payment-terms-days",
        type=int,
        default=DEFAULT_PAYMENT_TERMS_DAYS,
        help=f"its invoices are due this many days after issue (default {DEFAULT_PAYMENT_TERMS_DAYS})",
    )
    add.add_argument("--iban", help="where its revenue share is paid")
    add.add_argument("--bic")
    add.add_argument(
        "--collection-method",
        choices=[m.value for m in CollectionMethod],
        default=CollectionMethod.TRANSFER.value,
        help="how it pays its invoices: by transfer (default) or collected by SEPA Direct Debit (add a mandate)",
    )
    _einvoice_options(add)
    mandate_arguments(actions)
    keys = actions.add_parser("keys", help="issue, revoke or list a partner's API keys")
    key_actions = keys.add_subparsers(dest="key_action", required=True)
    key_add = key_actions.add_parser("add", help="a new key, shown once (at most two valid at once)")
    key_add.add_argument("partner")
    key_add.add_argument("--valid-days", type=int, default=partners.DEFAULT_KEY_LIFETIME.days)
    key_revoke = key_actions.add_parser("revoke", help="refuse a key from now on")
    key_revoke.add_argument("partner")
    key_revoke.add_argument("key_id", type=int)
    key_actions.add_parser("list", help="the partner's keys").add_argument("partner")
    actions.add_parser("deactivate", help="refuse the partner's keys (its books stay)").add_argument("partner")
    invite = actions.add_parser("invite-cpo", help="a CPO and its token A, to register over OCPI (shown once)")
    invite.add_argument("--country-code", required=True, help="its OCPI country code (ISO 3166-1 alpha-2)")
    invite.add_argument("--party-id", required=True, help="its OCPI party id, three letters or digits")
    invite.add_argument("--name", required=True, help="its name (and legal entity, until its contract)")
    invite.add_argument("--json", action="store_true", help='print {"token", "versions_url"}')
    invite.add_argument(
        "--reissue",
        action="store_true",
        help="a new token A for a registered CPO whose answer was lost (its token keeps working until it registers)",
    )
    _cpo_options(invite)
    terms = actions.add_parser("cpo-terms", help="change a CPO's company details or contract (a new version)")
    terms.add_argument("--cpo", required=True, help="its id, e.g. cpo-nl-abc")
    _cpo_options(terms)
    connect = actions.add_parser("connect-cpo", help="register with a CPO, with the token A it gave us")
    connect.add_argument("--versions-url", required=True, help="the CPO's OCPI versions list")
    connect.add_argument("--token", required=True, help="its token A")
    sync = actions.add_parser("sync-cpo", help="pull a registered CPO's Locations and Tariffs, wait for the result")
    sync.add_argument("--cpo", required=True, help="its id, e.g. cpo-nl-abc")
    sync.add_argument("--json", action="store_true", help="print the counts per module as JSON")


def _einvoice_options(parser: argparse.ArgumentParser) -> None:
    """How the party receives its EN 16931 e-invoices; left out: the defaults of its country (README)."""
    parser.add_argument("--einvoice-format", choices=[f.value for f in EInvoiceFormat])
    parser.add_argument("--buyer-reference", help="BT-10 its documents quote; required for XRECHNUNG_*")
    parser.add_argument(
        "--electronic-address", help="SCHEME:ID, e.g. 9930:DE281045677 (default: derived from its VAT id)"
    )
    parser.add_argument("--einvoice-contact-name", help="with the telephone and email: its contact as a seller")
    parser.add_argument("--einvoice-contact-telephone")
    parser.add_argument("--einvoice-contact-email")
    parser.add_argument("--legal-registration", help="its commercial register entry, e.g. HRB 123456")


def _cpo_options(parser: argparse.ArgumentParser) -> None:
    """A CPO's company details and contract terms, all optional (left as they are when not given)."""
    parser.add_argument("--vat-id", help="with its country prefix, e.g. DE276543216")
    parser.add_argument("--street", help="its postal address, with --postcode and --city (town)")
    parser.add_argument("--building-number", help="with --street: e.g. 88 or 12a; may be left out")
    parser.add_argument("--postcode")
    parser.add_argument("--city")
    parser.add_argument("--currency", help="its payout currency (ISO 4217); by default its country's")
    parser.add_argument("--iban", help="where its payouts go")
    parser.add_argument("--bic")
    parser.add_argument("--commission-percent", type=_amount, help="our commission, in percent of the price")
    parser.add_argument("--commission-minimum", type=_amount, help="per session, in the tariff's currency")
    parser.add_argument("--commission-maximum", type=_amount, help="per session, in the tariff's currency")
    parser.add_argument("--payout-frequency", choices=[f.value for f in PayoutFrequency])
    parser.add_argument("--payout-time", help="HH:MM UTC, when payouts are released")
    parser.add_argument("--payout-weekday", choices=list(Weekday.__members__), help="for WEEKLY payouts")
    parser.add_argument("--payout-day", type=int, help="day of the month (1-28), for MONTHLY payouts")
    parser.add_argument("--payout-minimum", type=_amount, help="no payout below it, in its payout currency")
    parser.add_argument(
        "--payout-funding",
        choices=[m.value for m in FundingMode],
        help="PAY_WHEN_PAID: paid once its sessions' invoices are paid; GUARANTEED: on schedule, within the limit",
    )
    parser.add_argument(
        "--exposure-limit",
        type=_amount,
        help="GUARANTEED: at most this released for it and not yet paid by partners, in its payout currency",
    )
    _einvoice_options(parser)


def run(writes: SessionFactory, args: argparse.Namespace, ours: OurPlatform, temporal: TemporalTarget) -> int:
    now = datetime.now(UTC)
    if args.action == "connect-cpo":
        return _connect_cpo(writes, args, ours, temporal, now=now)
    if args.action == "sync-cpo":
        return asyncio.run(_sync_cpo(temporal, args.cpo, as_json=args.json))
    if args.action == "mandate":
        return run_mandate(writes, args)
    try:
        with writes.begin() as db:
            if args.action == "add-dp":
                partner = partners.onboard_demand_partner(db, _application(args), now=now)
                print(f"onboarded {partner.id} ({partner.legal_entity}); give it a key: partners keys add {partner.id}")
            elif args.action == "invite-cpo":
                invitation = cpo_onboarding.invite_cpo(
                    db,
                    args.country_code,
                    args.party_id,
                    args.name,
                    _company(args),
                    _terms(args),
                    now=now,
                    reissue=args.reissue,
                )
                _print_invitation(invitation, ours.versions_url, as_json=args.json)
            elif args.action == "cpo-terms":
                cpo_onboarding.set_cpo_terms(db, args.cpo, _company(args), _terms(args), now=now)
                print(f"{args.cpo}: company details and contract terms stored")
            elif args.action == "deactivate":
                partners.deactivate_demand_partner(db, args.partner)
                print(f"deactivated {args.partner}: its keys are refused")
            elif args.key_action == "add":
                issued = partners.issue_api_key(db, args.partner, now=now, valid_for=timedelta(days=args.valid_days))
                print(f"{args.partner}'s key {issued.id}, valid until {issued.expires_at} (shown once): {issued.key}")
            elif args.key_action == "revoke":
                partners.revoke_api_key(db, args.partner, args.key_id, now=now)
                print(f"revoked {args.partner}'s key {args.key_id}")
            else:
                for key in partners.api_keys(db, args.partner):
                    print(_key_line(key, now))
    except FieldInvalid as invalid:
        print(f"refused: {invalid}", file=sys.stderr)
        return 2
    except (
        partners.PartnerExists,
        partners.KeyRefused,
        partners.KeyNotFound,
        credentials.AlreadyRegistered,
    ) as refused:
        print(refused, file=sys.stderr)
        return 1
    except partners.PartnerNotFound as missing:
        print(f"no demand partner {missing}", file=sys.stderr)
        return 1
    except cpo_onboarding.CpoNotFound as missing:
        print(f"no CPO {missing}", file=sys.stderr)
        return 1
    return 0


def _print_invitation(invitation: credentials.Invitation, versions_url: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"token": invitation.token, "versions_url": versions_url}))
        return
    print(f"invited {invitation.cpo_id}: give it our versions URL and its token A (shown once, single use,")
    print(f"valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC), through a channel you trust")
    print(f"versions URL: {versions_url}")
    print(f"token A: {invitation.token}")


def _connect_cpo(
    writes: SessionFactory, args: argparse.Namespace, ours: OurPlatform, temporal: TemporalTarget, *, now: datetime
) -> int:
    async def connect() -> str:
        cpo_id = await credentials.connect_cpo(writes, args.versions_url, args.token, ours, now=now)
        try:
            client = await connect_temporal(temporal.address, temporal.namespace)
        except RuntimeError as error:  # Temporal unreachable: the CPO is connected all the same
            print(f"{cpo_id}: its pull not started ({error}): run partners sync-cpo --cpo {cpo_id}", file=sys.stderr)
            return cpo_id
        await start_sync_after_registration(client, temporal.task_queue, cpo_id)
        return cpo_id

    try:
        cpo_id = asyncio.run(connect())
    except credentials.ConnectionFailed as failed:
        print(f"not connected: {failed}", file=sys.stderr)
        return 1
    print(f"connected {cpo_id}: registered with it, its token and endpoints stored; pulling its locations and tariffs")
    return 0


async def _sync_cpo(temporal: TemporalTarget, cpo_id: str, *, as_json: bool) -> int:
    """Start the CPO's sync (or join the one running) and report it; 1 when a module failed."""
    client = await connect_temporal(temporal.address, temporal.namespace)
    handle = await start_cpo_sync(client, temporal.task_queue, CpoSyncInput(cpo_id=cpo_id))
    result: CpoSyncResult = await handle.result()
    if as_json:
        print(json.dumps(result.model_dump(mode="json")))
    for module in [] if as_json else result.modules:
        if module.failure is not None:
            print(f"{module.module.value}: FAILED, nothing imported: {module.failure}")
        elif not module.offered:
            print(f"{module.module.value}: not offered by {cpo_id}")
        else:
            print(
                f"{module.module.value}: {module.pulled} pulled, {module.stored} stored, "
                f"{module.refused} refused (see the OCPI inbox), {module.stale} stale"
            )
    return 1 if result.failed else 0


def _key_line(key: StoredKey, now: datetime) -> str:
    expired = key.expires_at is not None and key.expires_at <= now
    state = "revoked" if key.revoked_at else "expired" if expired else "valid"
    return f"{key.id}\t{key.prefix}…\t{state}\tcreated {key.created_at:%Y-%m-%d}\texpires {key.expires_at or 'never'}"


def _company(args: argparse.Namespace) -> cpo_onboarding.CpoCompany:
    parts = {"street": args.street, "postcode": args.postcode, "city": args.city}
    missing = [name for name, value in parts.items() if value is None]
    if len(missing) not in (0, len(parts)) or (missing and args.building_number is not None):
        raise FieldInvalid(
            missing[0], "give --street, --postcode and --city together (and --building-number with them)"
        )
    return cpo_onboarding.CpoCompany(
        vat_id=args.vat_id,
        address=None if missing else _address(args),
        payout_currency=args.currency,
        iban=args.iban,
        bic=args.bic,
    )


def _terms(args: argparse.Namespace) -> cpo_onboarding.CpoTerms:
    return cpo_onboarding.CpoTerms(
        commission_percent=args.commission_percent,
        commission_minimum=args.commission_minimum,
        commission_maximum=args.commission_maximum,
        payout_frequency=args.payout_frequency,
        payout_time=args.payout_time,
        payout_weekday=args.payout_weekday,
        payout_day=args.payout_day,
        payout_minimum=args.payout_minimum,
        payout_funding=args.payout_funding,
        exposure_limit=args.exposure_limit,
        einvoice=_einvoice_terms(args),
    )


def _application(args: argparse.Namespace) -> partners.Application:
    return partners.Application(
        partner_id=args.id,
        legal_entity=args.legal_entity,
        address=_address(args),
        country=args.country,
        vat_id=args.vat_id,
        billing_currency=args.currency,
        iban=args.iban,
        bic=args.bic,
        terms=DemandPartnerTerms(
            share_percent=args.share_percent,
            share_basis=ShareBasis(args.share_basis),
            credit_limit=args.credit_limit,
            session_cap=args.session_cap,
            cadence=Cadence(args.cadence),
            taxable_dealer=args.taxable_dealer,
            payment_terms_days=args.payment_terms_days,
            collection_method=CollectionMethod(args.collection_method),
            einvoice=_einvoice_terms(args) or EInvoiceTerms(),
        ),
    )


def _einvoice_terms(args: argparse.Namespace) -> EInvoiceTerms | None:
    """The e-invoice terms given on the command line; None: none given."""
    address = None
    if args.electronic_address is not None:
        scheme, _, value = args.electronic_address.partition(":")
        address = ElectronicAddress(scheme, value)
    parts = (args.einvoice_contact_name, args.einvoice_contact_telephone, args.einvoice_contact_email)
    if any(part is not None for part in parts) and None in parts:
        raise FieldInvalid("einvoice", "give --einvoice-contact-name, -telephone and -email together")
    contact = None if None in parts else Contact(*parts)
    terms = EInvoiceTerms(
        format=None if args.einvoice_format is None else EInvoiceFormat(args.einvoice_format),
        buyer_reference=args.buyer_reference,
        electronic_address=address,
        contact=contact,
        legal_registration=args.legal_registration,
    )
    return None if terms == EInvoiceTerms() else terms


def _address(args: argparse.Namespace) -> PostalAddress:
    return PostalAddress(args.street, args.postcode, args.city, building_number=args.building_number)
