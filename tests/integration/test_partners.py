"""Demand partners and their keys in the database, on SQLite and PostgreSQL: onboarding (``partners add-dp``
and the service behind it), keys that expire, rotate and are revoked, deactivation, and migration 0012."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, column, inspect, select, table
from sqlalchemy.orm import Session, sessionmaker

from cli import partners as cli_partners
from cli.main import parser
from domain.invoicing.documents import Cadence
from domain.partners import DemandPartnerTerms, FieldInvalid, PostalAddress
from domain.settlement.contracts import ShareBasis, credit_terms, invoicing_terms, revenue_share_terms
from persistence.db import make_engine, make_read_session_factory
from persistence.migrate import alembic_config, upgrade
from persistence.tables import ContractRow, DemandPartnerRow
from services import partners
from services.ocpi.credentials import our_platform, platform_role
from tests.conftest import TEST_PEERS, _fresh_postgres
from tests.integration.test_cpo_invitations import NO_TEMPORAL

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
OURS = our_platform("http://127.0.0.1:8000", platform_role("CH", "NWC", "NetworkCore GmbH"), TEST_PEERS)
TERMS = DemandPartnerTerms(Decimal("12.5"), ShareBasis.PRICE, Decimal("1000.00"), Decimal("50.00"), Cadence.MONTHLY)


def _application(partner_id: str, **changes: object) -> partners.Application:
    fields: dict[str, object] = {
        "partner_id": partner_id,
        "legal_entity": "Ladepunkt Süd GmbH",
        "address": PostalAddress("Leopoldstrasse", "80802", "München", building_number="12"),
        "country": "de",
        "vat_id": "DE 281 045 677",
        "billing_currency": "eur",
        "terms": TERMS,
    }
    return partners.Application(**(fields | changes))  # type: ignore[arg-type]


def test_an_onboarded_partner_has_its_address_and_contract(writes: sessionmaker[Session]) -> None:
    partner_id = f"dp-{uuid.uuid4().hex[:8]}"
    with writes.begin() as db:
        partners.onboard_demand_partner(db, _application(partner_id), now=NOW)
    with writes() as db:
        row = db.get_one(DemandPartnerRow, partner_id)
        assert (row.street, row.building_number, row.postal_code, row.city, row.country) == (
            "Leopoldstrasse",
            "12",
            "80802",
            "München",
            "DE",
        )
        assert row.address == "Leopoldstrasse 12, 80802 München"  # the line invoices print
        assert (row.vat_id, row.billing_currency, row.active) == ("DE281045677", "EUR", True)
        [contract] = db.scalars(select(ContractRow).where(ContractRow.party_id == partner_id)).all()
        assert (contract.version, contract.effective_from, contract.effective_to) == (1, NOW, None)
    # The contract is one the settlement reads.
    assert revenue_share_terms(contract.terms).percent == Decimal("12.5")
    assert credit_terms(contract.terms).session_cap == Decimal("50.00")
    assert invoicing_terms(contract.terms).cadence == Cadence.MONTHLY
    assert invoicing_terms(contract.terms).payment_terms_days == 14  # the default
    with writes.begin() as db, pytest.raises(partners.PartnerExists):
        partners.onboard_demand_partner(db, _application(partner_id), now=NOW)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"vat_id": "DE281045678"}, "vat_id"),
        ({"country": "DD"}, "country"),
        ({"billing_currency": "EURO"}, "billing_currency"),
        ({"legal_entity": "  "}, "legal_entity"),
        ({"address": PostalAddress("Leopoldstrasse 12", "80802", "")}, "city"),
        ({"address": PostalAddress("Leopoldstrasse", "80802", "München", building_number="1" * 17)}, "building_number"),
        ({"address": PostalAddress("Leopoldstrasse", "80802", "Garmisch-Partenkirchen-Oberau-Farchant")}, "city"),
        ({"terms": replace(TERMS, payment_terms_days=-1)}, "payment_terms_days"),
        (
            {
                "terms": DemandPartnerTerms(
                    Decimal(10), ShareBasis.PRICE, Decimal("10"), Decimal("0.001"), Cadence.MONTHLY
                )
            },
            "session_cap",
        ),
    ],
)
def test_a_bad_field_stores_nothing(writes: sessionmaker[Session], changes: dict[str, object], field: str) -> None:
    partner_id = f"dp-{uuid.uuid4().hex[:8]}"
    with pytest.raises(FieldInvalid) as refused, writes.begin() as db:
        partners.onboard_demand_partner(db, _application(partner_id, **changes), now=NOW)
    assert refused.value.field == field
    with writes() as db:
        assert db.get(DemandPartnerRow, partner_id) is None


def test_keys_expire_rotate_and_are_revoked(writes: sessionmaker[Session], engine: Engine) -> None:
    partner_id = f"dp-{uuid.uuid4().hex[:8]}"
    reads = make_read_session_factory(engine)
    with writes.begin() as db:
        partners.onboard_demand_partner(db, _application(partner_id), now=NOW)
        old = partners.issue_api_key(db, partner_id, now=NOW, valid_for=timedelta(days=30))
        new = partners.issue_api_key(db, partner_id, now=NOW)
        with pytest.raises(partners.KeyRefused, match="revoke one first"):
            partners.issue_api_key(db, partner_id, now=NOW)
    assert old.expires_at == NOW + timedelta(days=30)
    assert new.expires_at == NOW + partners.DEFAULT_KEY_LIFETIME
    digest = partners.key_digest
    holder = partners.key_holder(reads, digest(old.key), now=NOW)
    assert holder is not None
    assert (holder.partner.id, holder.partner.billing_currency, holder.expires_at) == (
        partner_id,
        "EUR",
        old.expires_at,
    )
    # Expired: refused, and no longer counted among the valid keys.
    assert partners.key_holder(reads, digest(old.key), now=old.expires_at) is None
    with writes.begin() as db:
        third = partners.issue_api_key(db, partner_id, now=old.expires_at)
        assert partners.revoke_api_key(db, partner_id, third.id, now=old.expires_at) == digest(third.key)
        with pytest.raises(partners.KeyNotFound):
            partners.revoke_api_key(db, "dp-roamly", new.id, now=NOW)
    assert partners.key_holder(reads, digest(third.key), now=old.expires_at) is None
    assert partners.key_holder(reads, digest(new.key), now=old.expires_at) is not None
    with writes.begin() as db:
        assert set(partners.deactivate_demand_partner(db, partner_id)) == {digest(k.key) for k in (old, new, third)}
        with pytest.raises(partners.KeyRefused, match="not active"):
            partners.issue_api_key(db, partner_id, now=NOW)
    assert partners.key_holder(reads, digest(new.key), now=NOW) is None


def _cli(writes: sessionmaker[Session], *argv: str) -> int:
    return cli_partners.run(writes, parser().parse_args(["partners", *argv]), OURS, NO_TEMPORAL)


def test_the_cli_onboards_a_partner_and_manages_its_keys(
    writes: sessionmaker[Session], engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    partner_id = f"dp-{uuid.uuid4().hex[:8]}"
    add_dp = [
        "add-dp", partner_id, "--legal-entity", "Voyageo Énergie SAS", "--street", "18 rue de la République",
        "--postcode", "69002", "--city", "Lyon", "--country", "FR", "--vat-id", "FR44732829320", "--currency", "EUR",
        "--share-percent", "15", "--credit-limit", "5000.00", "--session-cap", "80.00", "--taxable-dealer",
    ]  # fmt: skip
    assert _cli(writes, *add_dp) == 0
    assert _cli(writes, *add_dp) == 1
    assert "exists already" in capsys.readouterr().err
    assert _cli(writes, "keys", "add", partner_id, "--valid-days", "90") == 0
    key = capsys.readouterr().out.rsplit(" ", 1)[-1].strip()
    assert key.startswith("nc_live_")
    reads = make_read_session_factory(engine)
    holder = partners.key_holder(reads, partners.key_digest(key), now=datetime.now(UTC))
    assert holder is not None
    assert holder.partner.id == partner_id
    with writes() as db:
        [stored] = partners.api_keys(db, partner_id)
        assert invoicing_terms(
            db.scalars(select(ContractRow.terms).where(ContractRow.party_id == partner_id)).one()
        ).taxable_dealer
    assert _cli(writes, "keys", "list", partner_id) == 0
    assert f"{stored.id}\t{key[:12]}…\tvalid" in capsys.readouterr().out
    assert _cli(writes, "keys", "revoke", partner_id, str(stored.id)) == 0
    assert partners.key_holder(reads, partners.key_digest(key), now=datetime.now(UTC)) is None
    assert _cli(writes, "keys", "revoke", partner_id, "999999") == 1
    assert _cli(writes, "deactivate", partner_id) == 0
    assert _cli(writes, "keys", "add", "dp-nobody") == 1
    assert "no demand partner dp-nobody" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("--vat-id", "FR44732829321", "vat_id"), ("--currency", "FRF", "billing_currency"), ("--country", "F", "country")],
)
def test_the_cli_names_the_refused_field(
    writes: sessionmaker[Session], capsys: pytest.CaptureFixture[str], option: str, value: str, named: str
) -> None:
    add_dp = {
        "--legal-entity": "Voyageo", "--street": "1 rue", "--postcode": "69002", "--city": "Lyon", "--country": "FR",
        "--vat-id": "FR44732829320", "--currency": "EUR", "--share-percent": "15", "--credit-limit": "50",
        "--session-cap": "5",
    } | {option: value}  # fmt: skip
    assert _cli(writes, "add-dp", f"dp-{uuid.uuid4().hex[:8]}", *(x for pair in add_dp.items() for x in pair)) == 2
    assert capsys.readouterr().err.startswith(f"refused: {named}:")


api_keys = table("api_keys", *(column(n) for n in ("demand_partner_id", "key_sha256", "key_prefix", "created_at")))
demand_partners = table(
    "demand_partners",
    *(column(n) for n in ("id", "name", "legal_entity", "country", "billing_currency", "active", "created_at")),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_at_0011(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'networkcore.db'}"
        upgrade(url, "0011")
        yield url
        return
    for url in _fresh_postgres():
        upgrade(url, "0011")
        yield url


def test_keys_made_before_0012_never_expire_and_the_downgrade_drops_the_columns(database_at_0011: str) -> None:
    engine = make_engine(database_at_0011)
    with engine.begin() as db:
        db.execute(demand_partners.insert().values(id="dp-1", name="P", legal_entity="P", country="DE",
                                                   billing_currency="EUR", active=True, created_at=NOW))  # fmt: skip
        db.execute(api_keys.insert().values(demand_partner_id="dp-1", key_sha256=partners.key_digest("old-key"),
                                            key_prefix="old-key", created_at=NOW))  # fmt: skip
    upgrade(database_at_0011)
    holder = partners.key_holder(make_read_session_factory(engine), partners.key_digest("old-key"), now=NOW)
    assert holder is not None
    assert holder.expires_at is None
    command.downgrade(alembic_config(database_at_0011), "0011")
    assert "expires_at" not in {c["name"] for c in inspect(engine).get_columns("api_keys")}
    assert not {"street", "postal_code", "city"} & {c["name"] for c in inspect(engine).get_columns("demand_partners")}
    with engine.connect() as db:
        assert len(db.execute(select(api_keys.c.key_sha256)).all()) == 1  # the keys stay
    engine.dispose()
