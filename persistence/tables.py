"""Table definitions (SQLAlchemy 2 declarative). Alembic migrations in ``migrations/`` own the schema.

Money and energy are NUMERIC, never float; money columns are ``Amount``s, exact on SQLite too. Verbatim
OCPI bodies are TEXT exactly as received, so what a CPO sent can always be shown back to it byte for byte.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false

# Integer keys that are BIGINT on PostgreSQL and autoincrementing INTEGER on SQLite.
Key = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on every backend (SQLite keeps no offset, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert value.tzinfo is not None, "naive datetimes are ambiguous: pass an aware one"
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SQLITE_INTEGER_MAX = 2**63 - 1


class Amount(TypeDecorator[Decimal]):
    """Money (and the rates that convert it) as NUMERIC(precision, scale), exact on every backend. SQLite
    has no decimal type (its NUMERIC keeps a fraction as REAL, 15 significant digits), so there the column
    holds the INTEGER count of 10^-scale units; PostgreSQL keeps NUMERIC. Finer values are rounded half-up
    to the scale, as NUMERIC does; a value beyond the precision is refused, never truncated."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale)
        self.precision, self.scale = precision, scale
        self._quantum = Decimal(1).scaleb(-scale)
        self._limit = Decimal(10) ** (precision - scale)

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | int | None:
        if value is None:
            return None
        amount = Decimal(value)  # an int is a whole amount
        if not amount.is_finite() or abs(amount) >= self._limit:
            raise ValueError(f"{value} does not fit NUMERIC({self.precision}, {self.scale})")
        exact = amount.quantize(self._quantum, rounding=ROUND_HALF_UP)
        if dialect.name != "sqlite":
            return exact
        units = int(exact.scaleb(self.scale))
        if abs(units) > SQLITE_INTEGER_MAX:  # NUMERIC(24, 10) allows more than 64 bits of 10^-10 units
            raise ValueError(f"{value} does not fit SQLite's 64-bit count of 10^-{self.scale}")
        return units

    def process_result_value(self, value: Decimal | int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(value).scaleb(-self.scale)
        return Decimal(value).quantize(self._quantum)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
    }


class DemandPartnerRow(Base):
    __tablename__ = "demand_partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_entity: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))  # the line printed on invoices
    # Its structured address (ISO 20022 PostalAddress24: StrtNm, BldgNb, PstCd, TwnNm; Ctry is ``country``).
    street: Mapped[str | None] = mapped_column(String(200))
    building_number: Mapped[str | None] = mapped_column(String(16))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    billing_currency: Mapped[str] = mapped_column(String(3))
    iban: Mapped[str | None] = mapped_column(String(34))  # where its revenue share is paid
    bic: Mapped[str | None] = mapped_column(String(11))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ApiKeyRow(Base):
    """Demand partners' API keys, stored as SHA-256 digests (keys are random, so no salt is needed). A key
    authenticates until it is revoked or expires (null: never, the seed's development keys)."""

    __tablename__ = "api_keys"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    demand_partner_id: Mapped[str] = mapped_column(ForeignKey("demand_partners.id"))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class CpoRow(Base):
    __tablename__ = "cpos"
    __table_args__ = (UniqueConstraint("country_code", "party_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_entity: Mapped[str] = mapped_column(String(200))
    country_code: Mapped[str] = mapped_column(String(2))  # OCPI party country
    party_id: Mapped[str] = mapped_column(String(3))
    country: Mapped[str] = mapped_column(String(2))
    vat_id: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))  # the line printed on invoices
    # Its structured address, as demand partners' (null: none given; its payouts are refused until it is).
    street: Mapped[str | None] = mapped_column(String(200))
    building_number: Mapped[str | None] = mapped_column(String(16))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    payout_currency: Mapped[str] = mapped_column(String(3))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The CPO's Commands receiver and the token we present to it (token B, in clear: we send it), as its
    # registration stored them; empty until an invited CPO registers (inactive until then: never called).
    # The token it presents to us is its connection's (``OcpiConnectionRow``).
    commands_url: Mapped[str] = mapped_column(String(255))
    # The token we present to it, sealed (adapters/token_cipher.py); "" until it registers.
    outbound_token: Mapped[str] = mapped_column(String(255))


class OcpiConnectionRow(Base):
    """A CPO's OCPI connection (credentials module): how it authenticates with us and where we reach it.
    INVITED: only its registration token (token A, ours; or token B, which we gave it when we register
    with it) works, on versions and credentials; REGISTERED: ``inbound_token_sha256`` works everywhere;
    UNREGISTERED: nothing works (a new invitation starts over). Tokens we issued are kept as SHA-256 only."""

    __tablename__ = "ocpi_connections"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    # Null only while we register with a CPO whose identity its reply will tell (flow S).
    cpo_id: Mapped[str | None] = mapped_column(ForeignKey("cpos.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # INVITED | REGISTERED | UNREGISTERED
    token_a_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_a_expires_at: Mapped[datetime | None]
    inbound_token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    versions_url: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    registered_at: Mapped[datetime | None]
    unregistered_at: Mapped[datetime | None]
    # For GRACE_PERIOD after a PUT: the token it replaced may repeat that PUT (same body, by digest) and
    # gets the same answer, whose token C is kept sealed (adapters/token_cipher.py).
    grace_token_sha256: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    grace_put_sha256: Mapped[str | None] = mapped_column(String(64))
    grace_reply_token: Mapped[str | None] = mapped_column(String(255))
    grace_until: Mapped[datetime | None]


class OcpiEndpointRow(Base):
    """A module of the CPO's version we use, with its interface role, from its version details."""

    __tablename__ = "ocpi_endpoints"
    __table_args__ = (UniqueConstraint("connection_key", "identifier", "role"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    connection_key: Mapped[int] = mapped_column(ForeignKey("ocpi_connections.key"))
    identifier: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(255))


class OcpiConnectionRoleRow(Base):
    """A role the CPO's credentials declared: one connection may carry several parties of one company. A
    party (country code, party id, role) belongs to one connection (OCPI ids ignore case)."""

    __tablename__ = "ocpi_connection_roles"
    __table_args__ = (
        Index(
            "uq_ocpi_connection_roles_ci_party",
            func.upper(text("country_code")),
            func.upper(text("party_id")),
            "role",
            unique=True,
        ),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    connection_key: Mapped[int] = mapped_column(ForeignKey("ocpi_connections.key"))
    role: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(100))


class ContractRow(Base):
    """A versioned, effective-dated contract of one party (terms as JSON until the money issues)."""

    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("party_kind", "party_id", "version"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    party_kind: Mapped[str] = mapped_column(String(16))  # DEMAND_PARTNER | CPO
    party_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime]
    effective_to: Mapped[datetime | None]
    terms: Mapped[dict[str, Any]]


class LocationRow(Base):
    """A CPO's OCPI Location: the object as we hold it (``body``, without its EVSEs, which have rows of their
    own) and the columns we query. Never deleted: sessions and CDRs refer to it."""

    __tablename__ = "locations"
    __table_args__ = (
        UniqueConstraint("cpo_id", "location_id"),
        Index("uq_locations_ci_key", "cpo_id", func.upper(text("location_id")), unique=True),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(ForeignKey("cpos.id"))
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    location_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(45))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2 (OCPI sends alpha-3)
    latitude: Mapped[str] = mapped_column(String(16))
    longitude: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str] = mapped_column(String(255))
    publish: Mapped[bool] = mapped_column(Boolean)
    last_updated: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class EvseRow(Base):
    """An EVSE of a Location, as we hold it (``body``, without its connectors). A REMOVED one stays."""

    __tablename__ = "evses"
    __table_args__ = (
        UniqueConstraint("location_key", "evse_uid"),
        Index("uq_evses_ci_uid", "location_key", func.upper(text("evse_uid")), unique=True),
        # Partners start sessions on an EVSE id in any spelling (migration 0021).
        Index("uq_evses_ci_evse_id", func.upper(text("evse_id")), unique=True),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    location_key: Mapped[int] = mapped_column(ForeignKey("locations.key"))
    evse_uid: Mapped[str] = mapped_column(String(36))
    evse_id: Mapped[str | None] = mapped_column(String(48), unique=True)  # eMI3 id, what drivers and DPs see
    status: Mapped[str] = mapped_column(String(16))
    last_updated: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class ConnectorRow(Base):
    """A connector of an EVSE; its ``tariff_ids`` (in the CPO's order) decide the tariff of a session on it."""

    __tablename__ = "connectors"
    __table_args__ = (
        UniqueConstraint("evse_key", "connector_id"),
        Index("uq_connectors_ci_id", "evse_key", func.upper(text("connector_id")), unique=True),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    evse_key: Mapped[int] = mapped_column(ForeignKey("evses.key"))
    connector_id: Mapped[str] = mapped_column(String(36))
    standard: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(16))
    power_type: Mapped[str] = mapped_column(String(16))
    # Null only for connectors seeded before 0019, which recorded their power alone.
    max_voltage: Mapped[int | None] = mapped_column(Integer)
    max_amperage: Mapped[int | None] = mapped_column(Integer)
    max_electric_power: Mapped[int | None] = mapped_column(BigInteger)  # W
    tariff_ids: Mapped[list[str]] = mapped_column(JSON)
    last_updated: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class EvseStatusRow(Base):
    """Each status an EVSE took, as the CPO dated it: its history, kept whatever arrives later."""

    __tablename__ = "evse_statuses"
    __table_args__ = (Index(None, "evse_key", "changed_at"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    evse_key: Mapped[int] = mapped_column(ForeignKey("evses.key"))
    status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime]  # the message's last_updated
    received_at: Mapped[datetime]


class TariffRow(Base):
    """One version of a CPO tariff, as OCPI 2.2.1 JSON, versioned by ``last_updated``."""

    __tablename__ = "tariffs"
    __table_args__ = (
        UniqueConstraint("cpo_id", "tariff_id", "last_updated"),
        # OCPI ids ignore case: looked up on upper() (migration 0016).
        Index("uq_tariffs_ci_version", "cpo_id", func.upper(text("tariff_id")), "last_updated", unique=True),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    cpo_id: Mapped[str] = mapped_column(ForeignKey("cpos.id"))
    tariff_id: Mapped[str] = mapped_column(String(36))
    currency: Mapped[str] = mapped_column(String(3))
    last_updated: Mapped[datetime]
    start_date_time: Mapped[datetime | None]
    end_date_time: Mapped[datetime | None]
    body: Mapped[str] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SessionRow(Base):
    """The read model of charging sessions (the workflow is the source of truth)."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("demand_partner_id", "idempotency_key"),
        Index(None, "demand_partner_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    demand_partner_id: Mapped[str] = mapped_column(ForeignKey("demand_partners.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    evse_id: Mapped[str] = mapped_column(String(48))
    driver_reference: Mapped[str] = mapped_column(String(36))
    stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(String(64))  # the ErrorType the reason names, if any
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    cpo_id: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    location_id: Mapped[str | None] = mapped_column(String(36))
    evse_uid: Mapped[str | None] = mapped_column(String(36))
    tariff_version_key: Mapped[int | None] = mapped_column(ForeignKey("tariffs.key"))
    currency: Mapped[str | None] = mapped_column(String(3))
    demand_partner_contract_key: Mapped[int | None] = mapped_column(ForeignKey("contracts.key"))
    cpo_contract_key: Mapped[int | None] = mapped_column(ForeignKey("contracts.key"))
    cpo_session_id: Mapped[str | None] = mapped_column(String(36))
    cpo_status: Mapped[str | None] = mapped_column(String(16))
    kwh: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal(0))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    cdr_key: Mapped[int | None] = mapped_column(Key)
    max_amount: Mapped[Decimal | None] = mapped_column(Amount(18, 4))  # the partner's cap, billing currency
    quote_id: Mapped[str | None] = mapped_column(String(36))  # the partner's quote it started on (``quotes``)
    # Corrections: the generation of the latest settlement, and whether a credit has reversed it.
    settlement_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    credited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OcpiSessionRow(Base):
    """The CPO's Session object as it stands after every PUT/PATCH applied in order."""

    __tablename__ = "ocpi_sessions"
    __table_args__ = (
        UniqueConstraint("country_code", "party_id", "session_id"),
        Index(
            "uq_ocpi_sessions_ci_key",
            func.upper(text("country_code")),
            func.upper(text("party_id")),
            func.upper(text("session_id")),
            unique=True,
        ),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    session_id: Mapped[str] = mapped_column(String(36))
    our_session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    status: Mapped[str] = mapped_column(String(16))
    # The last status the workflow was told about; behind ``status`` means a signal is still owed.
    forwarded_status: Mapped[str | None] = mapped_column(String(16))
    last_updated: Mapped[datetime]
    body: Mapped[dict[str, Any]]


class OcpiInboxRow(Base):
    """Every OCPI message a CPO sent us, verbatim, with what we made of it. Never changed."""

    __tablename__ = "ocpi_inbox"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime]
    cpo_id: Mapped[str] = mapped_column(ForeignKey("cpos.id"))
    kind: Mapped[str] = mapped_column(String(24))  # SESSION_PUT | SESSION_PATCH | CDR | COMMAND_RESULT
    object_id: Mapped[str] = mapped_column(String(64))
    our_session_id: Mapped[str | None] = mapped_column(String(36))
    outcome: Mapped[str] = mapped_column(String(24))
    status_code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # readable: bytes that are not UTF-8 replaced
    raw_body: Mapped[bytes | None] = mapped_column(LargeBinary)  # as received; None before revision 0014


class CdrRow(Base):
    """An accepted CDR, verbatim. CDRs are final in OCPI: the database refuses UPDATE and DELETE."""

    __tablename__ = "cdrs"
    __table_args__ = (
        UniqueConstraint("country_code", "party_id", "cdr_id"),
        Index(
            "uq_cdrs_ci_key",
            func.upper(text("country_code")),
            func.upper(text("party_id")),
            func.upper(text("cdr_id")),
            unique=True,
        ),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    country_code: Mapped[str] = mapped_column(String(2))
    party_id: Mapped[str] = mapped_column(String(3))
    cdr_id: Mapped[str] = mapped_column(String(39))
    our_session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total_energy_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    credit_reference_key: Mapped[int | None] = mapped_column(Key)  # a credit CDR: the CDR it cancels


class ClearingRow(Base):
    """Stage 5: the session rated at the official price, and how the CPO's claim compares."""

    __tablename__ = "clearings"
    __table_args__ = (UniqueConstraint("session_id", "generation"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cdr_key: Mapped[int] = mapped_column(ForeignKey("cdrs.key"))
    tariff_version_key: Mapped[int] = mapped_column(ForeignKey("tariffs.key"))
    currency: Mapped[str] = mapped_column(String(3))
    total_excl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    total_incl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    claimed_excl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    claimed_incl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    tolerance: Mapped[Decimal] = mapped_column(Amount(18, 4))
    discrepancy: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]]
    rated_at: Mapped[datetime]


class LedgerAccountRow(Base):
    """One account per code (party, kind) and currency: a ledger holds one currency."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("code", "currency"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(160))
    currency: Mapped[str] = mapped_column(String(3))


class LedgerEntryRow(Base):
    """An immutable journal entry; its postings balance per currency (checked by the database too)."""

    __tablename__ = "ledger_entries"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    posting_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class LedgerPostingRow(Base):
    __tablename__ = "ledger_postings"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    entry_key: Mapped[int] = mapped_column(ForeignKey("ledger_entries.key"), index=True)
    account_key: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.key"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class LedgerCheckRunRow(Base):
    """One periodic ``ledger check`` run by the worker, as the API's metrics show it (migration 0033)."""

    __tablename__ = "ledger_check_runs"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[int] = mapped_column(Integer)
    first_problems: Mapped[list[str]] = mapped_column(JSON)  # the first few, as the check words them
    entries: Mapped[int] = mapped_column(Integer)
    settled_sessions: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)


class SessionStageCountRow(Base):
    """How many sessions are in a stage, with or without needs-attention, kept by the database in the
    transaction that moves them (migration 0032). On PostgreSQL a pair is spread over a few shard rows, so
    that sessions moving at once lock different rows; its count is the sum of its rows."""

    __tablename__ = "session_stage_counts"

    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    needs_attention: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    sessions: Mapped[int] = mapped_column(BigInteger)


class LedgerAccountTotalRow(Base):
    """An account's posted debits (positive amounts) and credits (negative ones, negated), kept by the database
    in the transaction of the postings (migration 0030). On PostgreSQL an account is spread over a few shard
    rows, so that transactions booking a hot account at once lock different rows; its balance is the sum of
    its rows' debits less credits."""

    __tablename__ = "ledger_account_totals"
    __table_args__ = (CheckConstraint("debits_minor >= 0 AND credits_minor >= 0", name="unsigned"),)

    account_key: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.key"), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    debits_minor: Mapped[int] = mapped_column(BigInteger)
    credits_minor: Mapped[int] = mapped_column(BigInteger)


class FxRateRow(Base):
    """A reference rate as published: one per base, quote and publication date."""

    __tablename__ = "fx_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Amount(24, 10))
    source: Mapped[str] = mapped_column(String(120))


class LedgerHoldRow(Base):
    """A pending two-phase transfer reserving a demand partner's credit for one session. Immutable: how
    it ended is a ``LedgerHoldResolutionRow``, at most one per hold."""

    __tablename__ = "ledger_holds"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # No foreign key: a CPO's real-time authorisation holds credit for a session still to come, under the
    # id it will have, its authorisation reference (migration 0023).
    session_id: Mapped[str] = mapped_column(String(36), unique=True)
    account_key: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.key"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class LedgerHoldResolutionRow(Base):
    """A hold posted (for its captured amount, with the entry that booked it), voided or expired."""

    __tablename__ = "ledger_hold_resolutions"

    hold_key: Mapped[int] = mapped_column(ForeignKey("ledger_holds.key"), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    posted_minor: Mapped[int] = mapped_column(BigInteger)
    entry_key: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.key"))
    resolved_at: Mapped[datetime]


class LedgerPendingHoldRow(Base):
    """A hold not yet posted, voided or expired: listed with the hold and struck off with its resolution by
    the database (migration 0030), so that what is held is read from the pending holds alone."""

    __tablename__ = "ledger_pending_holds"
    __table_args__ = (Index(None, "account_key", "expires_at"),)

    hold_key: Mapped[int] = mapped_column(ForeignKey("ledger_holds.key"), primary_key=True)
    account_key: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.key"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime]


class FxConversionRow(Base):
    """Stage 6: what the partner is billed in its currency, at which reference rate, from which source and
    date. ``executed_rate`` is for the rate money actually moved at, once a rail reports one."""

    __tablename__ = "fx_conversions"
    __table_args__ = (UniqueConstraint("session_id", "generation"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    from_currency: Mapped[str] = mapped_column(String(3))
    to_currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    converted_minor: Mapped[int] = mapped_column(BigInteger)
    reference_rate: Mapped[Decimal | None] = mapped_column(Amount(24, 10))
    rate_source: Mapped[str | None] = mapped_column(String(120))
    rate_as_of: Mapped[date | None] = mapped_column(Date)
    executed_rate: Mapped[Decimal | None] = mapped_column(Amount(24, 10))
    converted_at: Mapped[datetime]


class InvoiceSeriesRow(Base):
    """The last number issued per issuer and series; incremented in the issuing transaction (gap-free)."""

    __tablename__ = "invoice_series"

    issuer: Mapped[str] = mapped_column(String(80), primary_key=True)
    series: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class InvoiceRow(Base):
    """An invoice (or credit note). A DRAFT statement collects lines and has no number; ISSUED ones have
    their number, totals and document, and the database refuses to change or delete them."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("issuer", "series", "sequence"),
        UniqueConstraint("issuer", "session_id"),
        Index(None, "recipient", "issued_at"),
        Index("uq_invoices_correction_key", "correction_key", unique=True),
        Index(None, "due_date"),
        Index(None, "recipient", "due_date"),  # a partner's overdue items, asked at every authorisation
        Index(None, "corrects_key"),  # the credit notes of an invoice (its open amount)
        Index("uq_invoices_payment_reference", "payment_reference", unique=True),
        # At most one open draft statement per recipient, currency, month and e-invoice group.
        Index(
            "uq_invoices_open_draft",
            "issuer",
            "recipient",
            "currency",
            "period",
            "einvoice_group",
            unique=True,
            sqlite_where=text("status = 'DRAFT'"),
            postgresql_where=text("status = 'DRAFT'"),
        ),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(80))  # "platform", "cpo:<id>" or "dp:<id>" (self-billed)
    series: Mapped[str] = mapped_column(String(80))  # RS-<partner id>: up to 67 characters
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    number: Mapped[str | None] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(80))  # "dp:<id>" or "platform"
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str | None] = mapped_column(String(7))  # "YYYY-MM" of a monthly statement
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id"))
    corrects_key: Mapped[int | None] = mapped_column(ForeignKey("invoices.key"))
    # Corrections' documents (a credit note, a corrected invoice): one per issuer, session and generation.
    correction_key: Mapped[str | None] = mapped_column(String(200))
    net_minor: Mapped[int | None] = mapped_column(BigInteger)
    vat_minor: Mapped[int | None] = mapped_column(BigInteger)
    # An open item the platform collects (its invoices and statements to demand partners): when it is due
    # and the ISO 11649 reference its payment quotes. Null on credit notes and self-billed invoices.
    due_date: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(25))
    document: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    issued_at: Mapped[datetime | None]
    # Its EN 16931 e-invoice, validated and stored as it is issued (None: issued before 0031), in the format
    # it was made in (domain.einvoice.model.EInvoiceFormat; Factur-X: the XML the PDF carries).
    einvoice_format: Mapped[str | None] = mapped_column(String(16))
    einvoice_xml: Mapped[str | None] = mapped_column(Text)
    # A draft statement collects the lines one e-invoice can state together (domain.einvoice.build.einvoice_group:
    # "" most, a foreign VAT currency's code, "O" out of scope of VAT).
    einvoice_group: Mapped[str] = mapped_column(String(8), default="", server_default="")


class EInvoiceDeliveryRow(Base):
    """An issued e-invoice's delivery to the outbox: queued as it is issued, ``delivered_at`` set once its file
    is written (the invoice row itself is immutable by then)."""

    __tablename__ = "einvoice_deliveries"
    __table_args__ = (
        Index(
            "ix_einvoice_deliveries_pending",
            "invoice_key",
            sqlite_where=text("delivered_at IS NULL"),
            postgresql_where=text("delivered_at IS NULL"),
        ),
    )

    invoice_key: Mapped[int] = mapped_column(ForeignKey("invoices.key"), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(80))  # "dp:<id>" or "cpo:<id>": whose folder it goes to
    queued_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class InvoiceLineRow(Base):
    """One session's line on an invoice, as computed at stage 7 (immutable)."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_key", "session_id"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    invoice_key: Mapped[int] = mapped_column(ForeignKey("invoices.key"))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    net_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    place_of_supply: Mapped[str] = mapped_column(String(2))
    national_currency: Mapped[str] = mapped_column(String(3))
    national_vat_minor: Mapped[int] = mapped_column(BigInteger)
    line: Mapped[dict[str, Any]]


OPEN_PAYOUT_STATES = ("INSTRUCTED", "SENT")


class PayoutItemRow(Base):
    """A settled session's payable to one payee (stage 9), queued for that payee's next payout batch.
    Written in the settlement's transaction, once per entry and payee; the VAT of a self-billed
    revenue-share document is queued when it is issued, with no session."""

    __tablename__ = "payout_items"
    __table_args__ = (UniqueConstraint("entry_key", "payee"), Index(None, "payee", "currency", "batch_key"))

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("sessions.id"))
    entry_key: Mapped[str] = mapped_column(String(200))  # the ledger entry that credited (or debited) the payable
    payee: Mapped[str] = mapped_column(String(80))  # "cpo:<id>" or "dp:<id>"
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    queued_at: Mapped[datetime]
    batch_key: Mapped[int | None] = mapped_column(ForeignKey("payout_batches.key"))  # cleared if rejected


class PayoutBatchRow(Base):
    """One payout instruction to one payee in one currency: INSTRUCTED (booked to cash in transit, file
    built) -> SENT (handed to the rail) -> PAID or REJECTED (as the rail's status report says)."""

    __tablename__ = "payout_batches"
    __table_args__ = (
        Index(None, "payee", "created_at"),
        # One batch in flight per payee and currency: the next waits for the rail's answer.
        Index(
            "uq_payout_batches_open",
            "payee",
            "currency",
            unique=True,
            sqlite_where=text("state IN ('INSTRUCTED', 'SENT')"),
            postgresql_where=text("state IN ('INSTRUCTED', 'SENT')"),
        ),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)  # pain.001 MsgId and EndToEndId
    payee: Mapped[str] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    netted_minor: Mapped[int] = mapped_column(BigInteger)
    iban: Mapped[str] = mapped_column(String(34))
    rail: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12))
    document: Mapped[str] = mapped_column(Text)  # the pain.001 file, as validated
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    status_code: Mapped[str | None] = mapped_column(String(4))  # pain.002 GrpSts
    reason: Mapped[str | None] = mapped_column(Text)
    status_report: Mapped[str | None] = mapped_column(Text)  # the pain.002, as received


class SimulatedBankTransferRow(Base):
    """The simulated bank's own memory of the pain.001 files it received (demo and tests only; a real bank
    keeps this on its side). Like a bank, it refuses a duplicate message id."""

    __tablename__ = "simulated_bank_transfers"

    message_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    creditor_iban: Mapped[str] = mapped_column(String(34), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    decided_at: Mapped[datetime]  # when its status report becomes final
    status_code: Mapped[str] = mapped_column(String(4))
    reason_code: Mapped[str | None] = mapped_column(String(4))
    document: Mapped[str] = mapped_column(Text)


class SimulatedBankStatementRow(Base):
    """A camt.053 the simulated bank produced for one of our accounts: one per account and day, numbered per
    account, opening at the previous one's closing balance (demo and tests only)."""

    __tablename__ = "simulated_bank_statements"
    __table_args__ = (UniqueConstraint("iban", "sequence_number"), UniqueConstraint("iban", "statement_date"))

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    iban: Mapped[str] = mapped_column(String(34))
    currency: Mapped[str] = mapped_column(String(3))
    sequence_number: Mapped[int] = mapped_column(BigInteger)  # ElctrncSeqNb
    from_date: Mapped[date]
    statement_date: Mapped[date]
    opening_minor: Mapped[int] = mapped_column(BigInteger)  # OPBD, signed
    closing_minor: Mapped[int] = mapped_column(BigInteger)  # CLBD, signed
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class SimulatedBankEntryRow(Base):
    """A movement the simulated bank booked on one of our accounts: a payout it settled (a debit, once per
    message id) or a partner's payment to us (a credit), and the statement that reported it (None: not yet)."""

    __tablename__ = "simulated_bank_entries"
    __table_args__ = (
        Index(None, "iban", "statement_key"),
        CheckConstraint("amount_minor > 0", name="positive"),
        CheckConstraint("direction IN ('CRDT', 'DBIT')", name="direction"),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    iban: Mapped[str] = mapped_column(String(34))
    currency: Mapped[str] = mapped_column(String(3))
    direction: Mapped[str] = mapped_column(String(4))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    booked_on: Mapped[date]
    account_servicer_reference: Mapped[str] = mapped_column(String(35), unique=True)
    payout_message_id: Mapped[str | None] = mapped_column(String(35), unique=True)
    counterparty_name: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    reference: Mapped[str | None] = mapped_column(String(35))  # a structured creditor reference (SCOR)
    text: Mapped[str | None] = mapped_column(String(140))  # free remittance text (Ustrd)
    statement_key: Mapped[int | None] = mapped_column(ForeignKey("simulated_bank_statements.key"))
    created_at: Mapped[datetime]


class OperatorKeyRow(Base):
    """An operator's API key (its SHA-256): who decides disputes, named in every decision."""

    __tablename__ = "operator_keys"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class DisputeRow(Base):
    """An operator's decision on a price discrepancy flagged at clearing (one per clearing): REJECT the CPO's
    claim (the official price stands), ACCEPT it, or ADJUST to an agreed amount; the last two settle the
    session again at ``agreed_excl_vat``."""

    __tablename__ = "disputes"
    __table_args__ = (
        UniqueConstraint("session_id", "generation"),
        CheckConstraint("decision IN ('ACCEPT', 'REJECT', 'ADJUST')", name="decision"),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    generation: Mapped[int] = mapped_column(Integer)  # the clearing disputed
    decision: Mapped[str] = mapped_column(String(8))
    currency: Mapped[str] = mapped_column(String(3))
    official_excl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    claimed_excl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    agreed_excl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime]


class SupersededDecisionRow(Base):
    """A dispute decision replaced by another after its correction was parked (``disputes`` keeps the one
    in force), with who replaced it and when."""

    __tablename__ = "superseded_decisions"
    __table_args__ = (CheckConstraint("decision IN ('ACCEPT', 'REJECT', 'ADJUST')", name="decision"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    dispute_key: Mapped[int] = mapped_column(ForeignKey("disputes.key"), index=True)
    decision: Mapped[str] = mapped_column(String(8))
    agreed_excl_vat: Mapped[Decimal] = mapped_column(Amount(18, 4))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime]
    superseded_by: Mapped[str] = mapped_column(String(80))
    superseded_at: Mapped[datetime]


class SettlementCorrectionRow(Base):
    """One correction of a settled session, run by its own workflow: a credit CDR reverses generation g; a
    re-issued CDR settles g + 1; an accepted or adjusted dispute does both."""

    __tablename__ = "settlement_corrections"
    __table_args__ = (CheckConstraint("state IN ('PENDING', 'STOPPED', 'DONE')", name="state"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    cause: Mapped[str] = mapped_column(String(16))
    reverses_generation: Mapped[int | None] = mapped_column(Integer)
    settles_generation: Mapped[int | None] = mapped_column(Integer)
    cdr_key: Mapped[int | None] = mapped_column(Key)
    dispute_key: Mapped[int | None] = mapped_column(Key)
    state: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(String(64))  # the ErrorType the reason names, if any
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class TokenRow(Base):
    """A driver's token a demand partner registered (OCPI Token, our Sender); never deleted: blocked with
    ``valid`` false. uid + type is unique across the platform, ignoring the uid's case (migration 0023)."""

    __tablename__ = "tokens"
    __table_args__ = (
        Index("uq_tokens_ci_type_uid", "type", func.upper(text("uid")), unique=True),
        Index(None, "demand_partner_id", "key"),
        Index(None, "last_updated", "key"),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    demand_partner_id: Mapped[str] = mapped_column(ForeignKey("demand_partners.id"))
    uid: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(16))
    contract_id: Mapped[str] = mapped_column(String(36))  # as issued
    normalised_contract_id: Mapped[str] = mapped_column(String(15), index=True)  # upper case, no hyphens
    visual_number: Mapped[str | None] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(64))
    whitelist: Mapped[str] = mapped_column(String(16))
    valid: Mapped[bool] = mapped_column(Boolean)
    valid_until: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime]
    last_updated: Mapped[datetime]


class TokenAuthorisationRow(Base):
    """A CPO's real-time authorisation of a token, and our answer (OCPI AllowedType). An ALLOWED one has a
    fresh ``authorization_reference`` and the credit hold placed under it."""

    __tablename__ = "token_authorisations"

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    token_key: Mapped[int] = mapped_column(ForeignKey("tokens.key"), index=True)
    demand_partner_id: Mapped[str] = mapped_column(String(64))
    cpo_id: Mapped[str] = mapped_column(ForeignKey("cpos.id"))
    location_id: Mapped[str | None] = mapped_column(String(36))
    evse_uids: Mapped[list[str]] = mapped_column(JSON)  # asked for; the allowed ones when ALLOWED
    allowed: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)  # why not ALLOWED
    authorization_reference: Mapped[str | None] = mapped_column(String(36), unique=True)
    hold_key: Mapped[int | None] = mapped_column(ForeignKey("ledger_holds.key"))
    requested_at: Mapped[datetime]


class QuoteRow(Base):
    """A price a demand partner was quoted for a session on an EVSE: the tariff version it used and the
    answer it was given (``body``). It holds nothing: no credit, no charger."""

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    demand_partner_id: Mapped[str] = mapped_column(ForeignKey("demand_partners.id"), index=True)
    evse_id: Mapped[str] = mapped_column(String(48))
    tariff_key: Mapped[int] = mapped_column(ForeignKey("tariffs.key"))
    kwh: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    minutes: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    total_incl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    valid_until: Mapped[datetime]


class BankStatementFileRow(Base):
    """A camt.053/.054 file as received, kept whatever became of it: STORED (read, not yet booked; a
    re-import books it), BOOKED, or REFUSED with the reason (nothing of it booked)."""

    __tablename__ = "bank_statement_files"
    __table_args__ = (
        Index(None, "iban", "kind", "state"),
        CheckConstraint("state IN ('STORED', 'BOOKED', 'REFUSED')", name="state"),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str | None] = mapped_column(String(8))  # "camt.053" | "camt.054"; None if unreadable
    iban: Mapped[str | None] = mapped_column(String(34))
    currency: Mapped[str | None] = mapped_column(String(3))
    message_id: Mapped[str | None] = mapped_column(String(35))
    report_id: Mapped[str | None] = mapped_column(String(35))
    sequence_number: Mapped[int | None] = mapped_column(BigInteger)  # ElctrncSeqNb
    opening_minor: Mapped[int | None] = mapped_column(BigInteger)  # OPBD, signed
    closing_minor: Mapped[int | None] = mapped_column(BigInteger)  # CLBD, signed
    closing_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(8))
    refusal: Mapped[str | None] = mapped_column(Text)
    # The file, byte for byte: deferred, as every read of the row is about its state, not its megabytes.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    received_at: Mapped[datetime]
    booked_at: Mapped[datetime | None]


class BankEntryRow(Base):
    """One booked statement entry (``Ntry`` with status BOOK), once whichever files carry it: the
    idempotency key is (IBAN, AcctSvcrRef|NtryRef, BookgDt, Amt, CdtDbtInd)."""

    __tablename__ = "bank_entries"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="positive"),
        CheckConstraint("direction IN ('CRDT', 'DBIT')", name="direction"),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    file_key: Mapped[int] = mapped_column(ForeignKey("bank_statement_files.key"), index=True)  # first seen in
    # The camt.053 that carried it (None while only a camt.054 did: in transit for the reconciliation).
    statement_file_key: Mapped[int | None] = mapped_column(ForeignKey("bank_statement_files.key"))
    iban: Mapped[str] = mapped_column(String(34))
    currency: Mapped[str] = mapped_column(String(3))
    direction: Mapped[str] = mapped_column(String(4))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    booking_date: Mapped[date | None] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    account_servicer_reference: Mapped[str | None] = mapped_column(String(35))
    entry_reference: Mapped[str | None] = mapped_column(String(35))
    bank_transaction_code: Mapped[str | None] = mapped_column(String(40))
    reversal: Mapped[bool] = mapped_column(Boolean)
    details: Mapped[dict[str, Any]]  # the entry's transactions as read (references, payer, remittance)
    created_at: Mapped[datetime]


class BankMatchRow(Base):
    """What one transaction of an entry matched, by which rule: a payout (or its return), a demand
    partner's invoices (plus any excess to its credit balance), or suspense; ASSIGNED when ops moved a
    suspense line to a partner (one per line)."""

    __tablename__ = "bank_matches"
    __table_args__ = (
        UniqueConstraint("entry_key", "line", "outcome"),
        Index(None, "outcome", "payout_message_id"),
        CheckConstraint(
            "outcome IN ('PAYOUT', 'PAYOUT_RETURN', 'PARTNER', 'SUSPENSE', 'ASSIGNED', 'COLLECTION', "
            "'COLLECTION_RETURN')",
            name="outcome",
        ),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    entry_key: Mapped[int] = mapped_column(ForeignKey("bank_entries.key"))
    line: Mapped[int] = mapped_column(Integer)  # the transaction's position in the entry
    rule: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))
    payout_message_id: Mapped[str | None] = mapped_column(String(35))
    partner_id: Mapped[str | None] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger)  # the line's amount (positive)
    excess_minor: Mapped[int] = mapped_column(BigInteger)  # to the partner's credit balance
    assigned_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]


class BankAllocationRow(Base):
    """Part of a payment applied to one invoice: an invoice's open amount is its total less these."""

    __tablename__ = "bank_allocations"
    __table_args__ = (
        UniqueConstraint("match_key", "invoice_key"),
        CheckConstraint("amount_minor > 0", name="positive"),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    match_key: Mapped[int] = mapped_column(ForeignKey("bank_matches.key"))
    invoice_key: Mapped[int] = mapped_column(ForeignKey("invoices.key"), index=True)
    entry_key: Mapped[int] = mapped_column(ForeignKey("bank_entries.key"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class SddMandateRow(Base):
    """A demand partner's SEPA Direct Debit mandate: the evidence we collect under (UMR unique)."""

    __tablename__ = "sdd_mandates"
    __table_args__ = (
        Index(None, "partner_id", "status"),
        CheckConstraint("scheme IN ('CORE', 'B2B')", name="scheme"),
        CheckConstraint("status IN ('ACTIVE', 'REVOKED', 'LAPSED', 'BLOCKED')", name="status"),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("demand_partners.id"))
    mandate_id: Mapped[str] = mapped_column(String(35), unique=True)  # the UMR
    signed_on: Mapped[date] = mapped_column(Date)
    scheme: Mapped[str] = mapped_column(String(4))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    recurring: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(8))
    status_reason: Mapped[str | None] = mapped_column(Text)
    last_collection_on: Mapped[date | None] = mapped_column(Date)  # the 36-month lapse runs from it
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime | None]


class SddFileRow(Base):
    """A pain.008 as validated (BUILT), then handed to the rail (SENT); its pain.002 when one came."""

    __tablename__ = "sdd_files"
    __table_args__ = (CheckConstraint("state IN ('BUILT', 'SENT')", name="state"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    run_date: Mapped[date] = mapped_column(Date)
    rail: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    transactions: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    status_code: Mapped[str | None] = mapped_column(String(4))  # pain.002 GrpSts (PART: some rejected)
    status_report: Mapped[str | None] = mapped_column(Text)


class SddCollectionRow(Base):
    """One direct debit of one invoice (attempt 2: its one re-presentation), PENDING -> SUBMITTED ->
    SETTLED -> CREDITED, or REJECTED (pain.002) / RETURNED (statement) with the reason."""

    __tablename__ = "sdd_collections"
    __table_args__ = (
        UniqueConstraint("invoice_key", "attempt"),
        Index(None, "state", "due_on"),
        Index(None, "partner_id"),
        Index(None, "payment_information_id"),
        CheckConstraint("amount_minor > 0", name="positive"),
        CheckConstraint(
            "state IN ('PENDING', 'SUBMITTED', 'SETTLED', 'CREDITED', 'REJECTED', 'RETURNED')", name="state"
        ),
    )

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    invoice_key: Mapped[int] = mapped_column(ForeignKey("invoices.key"))
    attempt: Mapped[int] = mapped_column(Integer)
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    partner_id: Mapped[str] = mapped_column(String(64))
    mandate_key: Mapped[int] = mapped_column(ForeignKey("sdd_mandates.key"))
    file_key: Mapped[int | None] = mapped_column(ForeignKey("sdd_files.key"))
    payment_information_id: Mapped[str | None] = mapped_column(String(35))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    due_on: Mapped[date] = mapped_column(Date)
    collection_date: Mapped[date | None] = mapped_column(Date)  # ReqdColltnDt
    sequence_type: Mapped[str | None] = mapped_column(String(4))
    state: Mapped[str] = mapped_column(String(10))
    reason_code: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str | None] = mapped_column(Text)
    bank_entry_key: Mapped[int | None] = mapped_column(Key)  # the statement entry that credited or returned it
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime | None]


class ReminderRow(Base):
    """A payment reminder (dunning letter) to a demand partner: the overdue invoices of one currency that
    reached one step of its contract's ladder on ``issued_on``, numbered in its own gap-free series. Its
    document is what was issued (the database refuses to change or delete it)."""

    __tablename__ = "reminders"
    __table_args__ = (Index(None, "demand_partner_id", "key"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)  # in the series REM of invoice_series
    number: Mapped[str] = mapped_column(String(60), unique=True)
    demand_partner_id: Mapped[str] = mapped_column(ForeignKey("demand_partners.id"))
    currency: Mapped[str] = mapped_column(String(3))
    level: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[date] = mapped_column(Date)
    open_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class ReminderItemRow(Base):
    """One overdue invoice on a reminder: at most one reminder per invoice and ladder level."""

    __tablename__ = "reminder_items"
    __table_args__ = (UniqueConstraint("invoice_key", "level"),)

    key: Mapped[int] = mapped_column(Key, primary_key=True, autoincrement=True)
    reminder_key: Mapped[int] = mapped_column(ForeignKey("reminders.key"), index=True)
    invoice_key: Mapped[int] = mapped_column(ForeignKey("invoices.key"))
    level: Mapped[str] = mapped_column(String(16))
    open_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
