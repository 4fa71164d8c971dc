"""structured postal addresses for CPOs and demand partners; due date and payment reference on invoices

Payment files name every party with a structured address since 15 Nov 2026 (EPC 2025, SPS 2025: ISO 20022
PostalAddress24 StrtNm, BldgNb, PstCd, TwnNm, Ctry). Demand partners had street, postcode and city: they
get ``building_number``, split off the street where it plainly ends ("Keizersgracht 100") or starts ("12
Wharf Road") with a number. CPOs had only the printed line: they get the same four columns, parsed here
once, best effort, from "street, postcode town" (or "street, town postcode" in GB and IE); a line that
does not parse leaves them null, and payouts to that CPO are refused (ADDRESS_MISSING) until ops give the
address (``partners cpo-terms``). Nothing parses free text after this migration.

``invoices`` gets ``due_date`` and ``payment_reference`` (the ISO 11649 RF its payment quotes, unique) for
the platform's invoices and statements to demand partners issued from now on; issued rows stay as they were
(they are immutable), so older invoices have neither.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

ADDRESS_COLUMNS = (("street", 200), ("building_number", 16), ("postal_code", 16), ("city", 100))
# Postcodes in the order "postcode town" (most of Europe: "10115", "1015 CW", "75 002", "A-1060") and in the
# order "town postcode" (GB, IE: "N1 7GR", "D02 X285").
POSTCODE_FIRST = re.compile(
    r"^(?P<postcode>(?:[A-Z]{1,2}-)?\d{3,5}(?:\s?[A-Z]{2}(?=\s)|\s\d{2,3}(?=\s))?)\s+(?P<town>\S.*)$"
)
POSTCODE_LAST = re.compile(
    r"^(?P<town>\S.*?)\s+(?P<postcode>[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]\d{2}\s?[A-Z\d]{4})$"
)
NUMBER_LAST = re.compile(r"^(?P<street>.*\D)\s+(?P<number>\d{1,5}[a-zA-Z]?(?:[-/]\d{1,5}[a-zA-Z]?)?)$")
NUMBER_FIRST = re.compile(r"^(?P<number>\d{1,5}[a-zA-Z]?(?:-\d{1,5})?),?\s+(?P<street>\D.*)$")
STREET_MAX, TOWN_MAX = 70, 35

cpos = sa.table("cpos", sa.column("id"), sa.column("address"), *(sa.column(name) for name, _ in ADDRESS_COLUMNS))
partners = sa.table("demand_partners", sa.column("id"), sa.column("street"), sa.column("building_number"))


def split_number(street: str) -> tuple[str, str | None]:
    """The street and its building number, when the number plainly ends or starts it."""
    street = " ".join(street.split())
    for pattern in (NUMBER_LAST, NUMBER_FIRST):
        found = pattern.match(street)
        if found:
            return found["street"].strip(" ,"), found["number"]
    return street, None


def parse_line(line: str) -> dict[str, str | None] | None:
    """ "street, postcode town" (or "street, town postcode") as columns; None when it is anything else."""
    head, comma, tail = line.rpartition(",")
    if not comma or not head.strip() or not tail.strip():
        return None
    tail = " ".join(tail.split())
    found = POSTCODE_FIRST.match(tail) or POSTCODE_LAST.match(tail)
    if found is None:
        return None
    street, number = split_number(head)
    town = found["town"].strip()
    if len(street) > STREET_MAX or len(town) > TOWN_MAX or not street or not town:
        return None
    return {"street": street, "building_number": number, "postal_code": found["postcode"], "city": town}


def upgrade() -> None:
    for name, length in ADDRESS_COLUMNS:
        op.add_column("cpos", sa.Column(name, sa.String(length), nullable=True))
    op.add_column("demand_partners", sa.Column("building_number", sa.String(16), nullable=True))
    op.add_column("invoices", sa.Column("due_date", sa.Date(), nullable=True))
    op.add_column("invoices", sa.Column("payment_reference", sa.String(25), nullable=True))
    op.create_index("ix_invoices_due_date", "invoices", ["due_date"])
    op.create_index("uq_invoices_payment_reference", "invoices", ["payment_reference"], unique=True)

    db = op.get_bind()
    for cpo_id, line in db.execute(sa.select(cpos.c.id, cpos.c.address).where(cpos.c.address.is_not(None))):
        parsed = parse_line(line)
        if parsed is not None:
            db.execute(cpos.update().where(cpos.c.id == cpo_id).values(**parsed))
    for partner_id, street in db.execute(
        sa.select(partners.c.id, partners.c.street).where(partners.c.street.is_not(None))
    ):
        rest, number = split_number(street)
        if number is not None and rest:
            db.execute(partners.update().where(partners.c.id == partner_id).values(street=rest, building_number=number))


def downgrade() -> None:
    """The building number goes back into the partner's street; the CPOs' parsed columns go (their line stays)."""
    db = op.get_bind()
    for partner_id, street, number in db.execute(
        sa.select(partners.c.id, partners.c.street, partners.c.building_number).where(
            partners.c.building_number.is_not(None)
        )
    ):
        db.execute(partners.update().where(partners.c.id == partner_id).values(street=f"{street} {number}"))
    op.drop_index("uq_invoices_payment_reference", table_name="invoices")
    op.drop_index("ix_invoices_due_date", table_name="invoices")
    op.drop_column("invoices", "payment_reference")
    op.drop_column("invoices", "due_date")
    op.drop_column("demand_partners", "building_number")
    for name, _ in reversed(ADDRESS_COLUMNS):
        op.drop_column("cpos", name)
