"""Onboarding a CPO without a database edit, on both databases: ``partners invite-cpo`` with its company
details and contract terms, ``partners cpo-terms`` changing them (a new contract version), every field
checked with its name (exit 2, nothing written)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli import partners as cli_partners
from cli.main import parser
from persistence.tables import ContractRow, CpoRow
from services.ocpi.credentials import our_platform, platform_role
from tests.conftest import TEST_PEERS, fresh_party_id

OURS = our_platform("https://emsp.example.com", platform_role("CH", "NWC", "NetworkCore GmbH"), TEST_PEERS)
NO_TEMPORAL = cli_partners.TemporalTarget("127.0.0.1:1", "default", "unused")  # onboarding starts no workflow
COMPANY = [
    *("--vat-id", "DE 276 543 216"),
    *("--street", "Landsberger Strasse", "--building-number", "88", "--postcode", "80339", "--city", "München"),
    *("--iban", "DE89 3704 0044 0532 0130 00"),
]
TERMS = [
    *("--commission-percent", "8", "--commission-minimum", "0.20", "--commission-maximum", "5.00"),
    *("--payout-frequency", "WEEKLY", "--payout-weekday", "FRIDAY", "--payout-time", "07:00"),
    *("--payout-minimum", "50.00"),
]


def _cli(writes: sessionmaker[Session], *argv: str) -> int:
    return cli_partners.run(writes, parser().parse_args(["partners", *argv]), OURS, NO_TEMPORAL)


def _invite(writes: sessionmaker[Session], party_id: str, *options: str) -> int:
    return _cli(writes, "invite-cpo", "--country-code", "DE", "--party-id", party_id, "--name", "Laden AG", *options)


def _contracts(db: Session, cpo_id: str) -> list[ContractRow]:
    query = select(ContractRow).where(ContractRow.party_kind == "CPO", ContractRow.party_id == cpo_id)
    return list(db.scalars(query.order_by(ContractRow.version)))


def test_invite_cpo_stores_the_company_details_and_the_contract(writes: sessionmaker[Session]) -> None:
    party_id = fresh_party_id()
    assert _invite(writes, party_id, *COMPANY, *TERMS) == 0
    cpo_id = f"cpo-de-{party_id.lower()}"
    with writes() as db:
        cpo = db.get_one(CpoRow, cpo_id)
        assert (cpo.vat_id, cpo.address, cpo.payout_currency) == (
            "DE276543216",
            "Landsberger Strasse 88, 80339 München",
            "EUR",
        )
        assert (cpo.street, cpo.building_number, cpo.postal_code, cpo.city) == (
            "Landsberger Strasse",
            "88",
            "80339",
            "München",
        )
        assert (cpo.iban, cpo.active) == ("DE89370400440532013000", False)  # active once it registers
        [contract] = _contracts(db, cpo_id)
        assert contract.terms == {
            "commission": {"percent": "8", "minimum": "0.20", "maximum": "5.00"},
            "payout": {"schedule": "WEEKLY", "weekday": "FRIDAY", "time": "07:00", "minimum": {"EUR": "50.00"}},
        }


def test_cpo_terms_makes_a_new_contract_version_and_keeps_what_it_does_not_change(
    writes: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    party_id = fresh_party_id()
    cpo_id = f"cpo-de-{party_id.lower()}"
    assert _invite(writes, party_id, *TERMS) == 0
    capsys.readouterr()
    assert _cli(writes, "cpo-terms", "--cpo", cpo_id, "--commission-percent", "7.5", "--currency", "chf") == 0
    assert cpo_id in capsys.readouterr().out
    with writes() as db:
        first, second = _contracts(db, cpo_id)
        assert first.effective_to == second.effective_from
        assert second.terms["commission"] == {"percent": "7.5", "minimum": "0.20", "maximum": "5.00"}
        assert second.terms["payout"] == first.terms["payout"]
        assert db.get_one(CpoRow, cpo_id).payout_currency == "CHF"
    # The same terms again: no new version.
    assert _cli(writes, "cpo-terms", "--cpo", cpo_id, "--commission-percent", "7.5") == 0
    with writes() as db:
        assert len(_contracts(db, cpo_id)) == 2


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (["--vat-id", "DE123456789"], "vat_id"),  # wrong check digit
        (["--street", "Hauptstrasse 1", "--city", "Berlin"], "postcode"),
        (["--building-number", "12"], "street"),  # a building number needs the rest of the address
        (
            ["--street", "Hauptstrasse", "--building-number", "1" * 17, "--postcode", "10115", "--city", "Berlin"],
            "building_number",
        ),
        (["--street", "Hauptstrasse", "--postcode", "10115", "--city", "B" * 36], "city"),  # TwnNm: 35 at most
        (["--iban", "DE00370400440532013000"], "iban"),
        (["--bic", "COBADEFFXXX"], "bic"),
        (["--currency", "EURO"], "currency"),
        (["--commission-percent", "101"], "commission"),
        (["--commission-percent", "8", "--commission-minimum", "6", "--commission-maximum", "5"], "commission"),
        (["--commission-minimum", "0.20"], "commission"),  # a new contract needs its percentage
        (["--commission-percent", "8", "--payout-time", "25:00"], "payout"),
        (["--commission-percent", "8", "--payout-day", "31"], "payout"),
        (["--commission-percent", "8", "--einvoice-format", "XRECHNUNG_UBL"], "einvoice"),  # no buyer reference
        (["--commission-percent", "8", "--electronic-address", "1234:DE276543216"], "einvoice"),  # no EAS scheme
        (["--einvoice-contact-name", "Accounts"], "einvoice"),  # without its telephone and email
    ],
)
def test_a_refused_field_is_named_and_nothing_is_written(
    writes: sessionmaker[Session], capsys: pytest.CaptureFixture[str], options: list[str], field: str
) -> None:
    party_id = fresh_party_id()
    assert _invite(writes, party_id, *options) == 2
    assert capsys.readouterr().err.startswith(f"refused: {field}: ")
    with writes() as db:
        assert db.get(CpoRow, f"cpo-de-{party_id.lower()}") is None


def test_cpo_terms_refuses_a_bad_vat_id_and_an_unknown_cpo(
    writes: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    party_id = fresh_party_id()
    cpo_id = f"cpo-de-{party_id.lower()}"
    assert _invite(writes, party_id, "--vat-id", "DE276543216") == 0
    assert _cli(writes, "cpo-terms", "--cpo", cpo_id, "--vat-id", "DE276543217") == 2
    assert "vat_id" in capsys.readouterr().err
    with writes() as db:
        assert db.get_one(CpoRow, cpo_id).vat_id == "DE276543216"
    assert _cli(writes, "cpo-terms", "--cpo", "cpo-xx-nobody", "--commission-percent", "8") == 1
    assert "no CPO cpo-xx-nobody" in capsys.readouterr().err


def test_a_cpo_on_xrechnung_needs_its_contact_as_the_seller_of_its_self_billed_invoices(
    writes: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    party_id = fresh_party_id()
    xrechnung = ["--einvoice-format", "XRECHNUNG_CII", "--buyer-reference", "SB-4711"]
    assert _invite(writes, party_id, *COMPANY, *TERMS, *xrechnung) == 2
    assert capsys.readouterr().err.startswith(
        "refused: einvoice: einvoice.contact (name, telephone, email) is required for XRECHNUNG_CII"
    )
    contact = ["--einvoice-contact-name", "Accounts", "--einvoice-contact-telephone", "+49 40 7654321"]
    assert _invite(writes, party_id, *COMPANY, *TERMS, *xrechnung, *contact, "--einvoice-contact-email", "ap@x.de") == 0
    with writes() as db:
        (contract,) = _contracts(db, f"cpo-de-{party_id.lower()}")
    assert contract.terms["einvoice"] == {
        "format": "XRECHNUNG_CII",
        "buyer_reference": "SB-4711",
        "contact": {"name": "Accounts", "telephone": "+49 40 7654321", "email": "ap@x.de"},
    }
