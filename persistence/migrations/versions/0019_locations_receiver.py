"""locations as the CPOs push them: connectors of their own with tariff_ids, EVSE status history

OCPI Locations (the eMSP Receiver) replace the seeded rows: a Location and each EVSE keep the object as we
hold it (``body``) with ``last_updated``, so an older message never overwrites a newer one; connectors get
their own rows (several per EVSE) with the ``tariff_ids`` that decide a session's tariff; every status an
EVSE takes is kept in ``evse_statuses``. Nothing refers to ``locations`` or ``evses`` by key, so both are
rebuilt (SQLite cannot alter columns in place) and their rows carried over: each EVSE becomes one connector
with its ``tariff_id``. Carried-over rows are dated ``MIGRATED_AT``, before any real update, so the CPO's
next message for them always applies.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pycountry
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

MIGRATED_AT = datetime(2000, 1, 1, tzinfo=UTC)
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _inserted_key(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def upgrade() -> None:
    connection = op.get_bind()
    locations = connection.execute(
        sa.text(
            "SELECT l.key, l.cpo_id, c.country_code, c.party_id, l.location_id, l.name, l.address, l.city,"
            " l.postal_code, l.country, l.latitude, l.longitude, l.time_zone"
            " FROM locations l JOIN cpos c ON c.id = l.cpo_id ORDER BY l.key"
        )
    ).all()
    evses = connection.execute(
        sa.text(
            "SELECT location_key, evse_uid, evse_id, connector_id, connector_standard, connector_format,"
            " power_type, max_power_kw, status, tariff_id FROM evses ORDER BY key"
        )
    ).all()
    op.drop_table("evses")
    op.drop_table("locations")
    new_locations, new_evses, connectors, statuses = _create_tables()

    location_keys = {}
    for row in locations:
        body = {
            "country_code": row.country_code,
            "party_id": row.party_id,
            "id": row.location_id,
            "publish": True,
            "name": row.name,
            "address": row.address,
            "city": row.city,
            "postal_code": row.postal_code,
            "country": pycountry.countries.lookup(row.country).alpha_3,
            "coordinates": {"latitude": row.latitude, "longitude": row.longitude},
            "time_zone": row.time_zone,
            "last_updated": _stamp(MIGRATED_AT),
        }
        columns = {name: getattr(row, name) for name in ("cpo_id", "country_code", "party_id", "location_id")}
        inserted = connection.execute(
            new_locations.insert().values(
                **columns,
                **{name: getattr(row, name) for name in ("name", "address", "city", "postal_code", "country")},
                latitude=row.latitude,
                longitude=row.longitude,
                time_zone=row.time_zone,
                publish=True,
                last_updated=MIGRATED_AT,
                body=body,
            )
        )
        location_keys[row.key] = _inserted_key(inserted)
    for evse in evses:
        evse_body = {"uid": evse.evse_uid, "evse_id": evse.evse_id, "status": evse.status}
        inserted = connection.execute(
            new_evses.insert().values(
                location_key=location_keys[evse.location_key],
                evse_uid=evse.evse_uid,
                evse_id=evse.evse_id,
                status=evse.status,
                last_updated=MIGRATED_AT,
                body=evse_body | {"last_updated": _stamp(MIGRATED_AT)},
            )
        )
        evse_key = _inserted_key(inserted)
        watts = int(Decimal(evse.max_power_kw) * 1000)
        connector_body = {
            "id": evse.connector_id,
            "standard": evse.connector_standard,
            "format": evse.connector_format,
            "power_type": evse.power_type,
            "max_electric_power": watts,
            "tariff_ids": [evse.tariff_id],
            "last_updated": _stamp(MIGRATED_AT),
        }
        connection.execute(
            connectors.insert().values(
                evse_key=evse_key,
                connector_id=evse.connector_id,
                standard=evse.connector_standard,
                format=evse.connector_format,
                power_type=evse.power_type,
                max_electric_power=watts,
                tariff_ids=[evse.tariff_id],
                last_updated=MIGRATED_AT,
                body=connector_body,
            )
        )
        connection.execute(
            statuses.insert().values(
                evse_key=evse_key, status=evse.status, changed_at=MIGRATED_AT, received_at=MIGRATED_AT
            )
        )


def _create_tables() -> tuple[sa.Table, sa.Table, sa.Table, sa.Table]:
    locations = op.create_table(
        "locations",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=45), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("latitude", sa.String(length=16), nullable=False),
        sa.Column("longitude", sa.String(length=16), nullable=False),
        sa.Column("time_zone", sa.String(length=255), nullable=False),
        sa.Column("publish", sa.Boolean(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], name=op.f("fk_locations_cpo_id_cpos")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_locations")),
        sa.UniqueConstraint("cpo_id", "location_id", name=op.f("uq_locations_cpo_id_location_id")),
    )
    op.create_index(
        "uq_locations_ci_key", "locations", [sa.column("cpo_id"), sa.func.upper(sa.column("location_id"))], unique=True
    )
    evses = op.create_table(
        "evses",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("location_key", KEY, nullable=False),
        sa.Column("evse_uid", sa.String(length=36), nullable=False),
        sa.Column("evse_id", sa.String(length=48), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["location_key"], ["locations.key"], name=op.f("fk_evses_location_key_locations")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_evses")),
        sa.UniqueConstraint("evse_id", name=op.f("uq_evses_evse_id")),
        sa.UniqueConstraint("location_key", "evse_uid", name=op.f("uq_evses_location_key_evse_uid")),
    )
    op.create_index(
        "uq_evses_ci_uid", "evses", [sa.column("location_key"), sa.func.upper(sa.column("evse_uid"))], unique=True
    )
    connectors = op.create_table(
        "connectors",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("evse_key", KEY, nullable=False),
        sa.Column("connector_id", sa.String(length=36), nullable=False),
        sa.Column("standard", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("power_type", sa.String(length=16), nullable=False),
        sa.Column("max_voltage", sa.Integer(), nullable=True),
        sa.Column("max_amperage", sa.Integer(), nullable=True),
        sa.Column("max_electric_power", sa.BigInteger(), nullable=True),
        sa.Column("tariff_ids", sa.JSON(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["evse_key"], ["evses.key"], name=op.f("fk_connectors_evse_key_evses")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_connectors")),
        sa.UniqueConstraint("evse_key", "connector_id", name=op.f("uq_connectors_evse_key_connector_id")),
    )
    op.create_index(
        "uq_connectors_ci_id",
        "connectors",
        [sa.column("evse_key"), sa.func.upper(sa.column("connector_id"))],
        unique=True,
    )
    statuses = op.create_table(
        "evse_statuses",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("evse_key", KEY, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["evse_key"], ["evses.key"], name=op.f("fk_evse_statuses_evse_key_evses")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_evse_statuses")),
    )
    op.create_index(op.f("ix_evse_statuses_evse_key_changed_at"), "evse_statuses", ["evse_key", "changed_at"])
    return locations, evses, connectors, statuses


def downgrade() -> None:
    """Back to one connector per EVSE (its first) and the locations' own columns; the history goes."""
    connection = op.get_bind()
    locations = connection.execute(sa.text("SELECT * FROM locations ORDER BY key")).all()
    evses = connection.execute(
        sa.text(
            "SELECT e.location_key, e.evse_uid, e.evse_id, e.status, c.connector_id, c.standard, c.format,"
            " c.power_type, c.max_electric_power, c.tariff_ids FROM evses e JOIN connectors c ON c.key ="
            " (SELECT min(key) FROM connectors WHERE evse_key = e.key) ORDER BY e.key"
        )
    ).all()
    for table in ("evse_statuses", "connectors", "evses", "locations"):
        op.drop_table(table)
    old_locations = op.create_table(
        "locations",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("cpo_id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=45), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("latitude", sa.String(length=16), nullable=False),
        sa.Column("longitude", sa.String(length=16), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["cpo_id"], ["cpos.id"], name=op.f("fk_locations_cpo_id_cpos")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_locations")),
        sa.UniqueConstraint("cpo_id", "location_id", name=op.f("uq_locations_cpo_id_location_id")),
    )
    old_evses = op.create_table(
        "evses",
        sa.Column("key", KEY, autoincrement=True, nullable=False),
        sa.Column("location_key", KEY, nullable=False),
        sa.Column("evse_uid", sa.String(length=36), nullable=False),
        sa.Column("evse_id", sa.String(length=48), nullable=False),
        sa.Column("connector_id", sa.String(length=36), nullable=False),
        sa.Column("connector_standard", sa.String(length=32), nullable=False),
        sa.Column("connector_format", sa.String(length=16), nullable=False),
        sa.Column("power_type", sa.String(length=16), nullable=False),
        sa.Column("max_power_kw", sa.Numeric(precision=10, scale=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tariff_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["location_key"], ["locations.key"], name=op.f("fk_evses_location_key_locations")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_evses")),
        sa.UniqueConstraint("evse_id", name=op.f("uq_evses_evse_id")),
        sa.UniqueConstraint("location_key", "evse_uid", name=op.f("uq_evses_location_key_evse_uid")),
    )
    kept = ("cpo_id", "location_id", "address", "city", "postal_code", "country", "latitude", "longitude")
    location_keys = {}
    for row in locations:
        values: dict[str, Any] = {name: getattr(row, name) for name in kept}
        inserted = connection.execute(
            old_locations.insert().values(**values, name=row.name or row.location_id, time_zone=row.time_zone[:64])
        )
        location_keys[row.key] = _inserted_key(inserted)
    for evse in evses:
        tariff_ids = evse.tariff_ids if isinstance(evse.tariff_ids, list) else json.loads(evse.tariff_ids)
        connection.execute(
            old_evses.insert().values(
                location_key=location_keys[evse.location_key],
                evse_uid=evse.evse_uid,
                evse_id=evse.evse_id or evse.evse_uid,
                connector_id=evse.connector_id,
                connector_standard=evse.standard,
                connector_format=evse.format,
                power_type=evse.power_type,
                max_power_kw=Decimal(evse.max_electric_power or 0) / 1000,
                status=evse.status,
                tariff_id=tariff_ids[0] if tariff_ids else "",
            )
        )
