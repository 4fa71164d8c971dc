"""The vendored XRechnung 3.0 and Peppol BIS Billing 3.0 stylesheets, run with saxonche on official examples
(tests/fixtures/einvoice/README.md): valid examples raise no fatal assert; a missing buyer reference (BT-10)
fails with the rule each CIUS names for it; XRechnung carries the Peppol rules KoSIT merges into it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from saxonche import PySaxonProcessor

from adapters.einvoice.cius import CIUS_STYLESHEETS

FIXTURES = Path(__file__).parents[1] / "fixtures" / "einvoice"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"
CII = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


class Rules:
    """One compiled executable per stylesheet, reused for every document."""

    def __init__(self, processor: Any) -> None:
        self._processor = processor
        self._executables = {
            key: processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))
            for key, path in CIUS_STYLESHEETS.items()
        }

    def failed_asserts(self, key: str, xml: bytes) -> list[tuple[str, str]]:
        """(rule id, flag) of every failed assert, flag being fatal, warning or information."""
        document = self._processor.parse_xml(xml_text=xml.decode())
        svrl = etree.fromstring(str(self._executables[key].transform_to_string(xdm_node=document)).encode())
        return [(str(fa.get("id")), str(fa.get("flag"))) for fa in svrl.iter(f"{SVRL}failed-assert")]

    def fatal(self, key: str, xml: bytes) -> list[str]:
        return [rule for rule, flag in self.failed_asserts(key, xml) if flag == "fatal"]


@pytest.fixture(scope="module")
def rules() -> Iterator[Rules]:
    with PySaxonProcessor(license=False) as processor:
        yield Rules(processor)


def without(xml: bytes, path: str, namespaces: dict[str, str]) -> bytes:
    root = etree.fromstring(xml)
    (element,) = root.iterfind(path, namespaces)
    parent = element.getparent()
    assert parent is not None
    parent.remove(element)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@pytest.mark.parametrize(
    ("key", "example"),
    [
        ("xrechnung-cii", "xrechnung/01.01a-INVOICE_uncefact.xml"),
        ("xrechnung-cii", "xrechnung/01.04a-INVOICE_uncefact.xml"),
        ("xrechnung-ubl", "xrechnung/01.01a-INVOICE_ubl.xml"),
        ("xrechnung-ubl", "xrechnung/01.04a-INVOICE_ubl.xml"),
        ("peppol-ubl", "peppol/base-example.xml"),
        ("peppol-ubl", "peppol/base-creditnote-correction.xml"),
        ("peppol-ubl", "peppol/vat-category-E.xml"),
    ],
)
def test_official_examples_raise_no_fatal_assert(rules: Rules, key: str, example: str) -> None:
    assert rules.fatal(key, (FIXTURES / example).read_bytes()) == []


@pytest.mark.parametrize(
    ("key", "example", "rule"),
    [
        ("xrechnung-cii", "xrechnung/01.01a-INVOICE_uncefact-without-BT-10.xml", "BR-DE-15"),
        ("xrechnung-ubl", "xrechnung/01.01a-INVOICE_ubl-without-BT-10.xml", "BR-DE-15"),
        ("peppol-ubl", "peppol/base-example-without-BT-10.xml", "PEPPOL-EN16931-R003"),
    ],
)
def test_a_missing_buyer_reference_fails_with_the_cius_rule(rules: Rules, key: str, example: str, rule: str) -> None:
    assert rules.fatal(key, (FIXTURES / example).read_bytes()) == [rule]


@pytest.mark.parametrize(
    ("key", "example", "buyer_electronic_address", "namespaces"),
    [
        ("xrechnung-cii", "01.01a-INVOICE_uncefact.xml", ".//ram:BuyerTradeParty/ram:URIUniversalCommunication", CII),
        ("xrechnung-ubl", "01.01a-INVOICE_ubl.xml", "./cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", UBL),
    ],
)
def test_xrechnung_applies_the_peppol_rules_merged_into_it(
    rules: Rules, key: str, example: str, buyer_electronic_address: str, namespaces: dict[str, str]
) -> None:
    xml = (FIXTURES / "xrechnung" / example).read_bytes()
    assert rules.fatal(key, without(xml, buyer_electronic_address, namespaces)) == ["PEPPOL-EN16931-R010"]


def test_xrechnung_compares_the_specification_identifier_with_its_global_variables(rules: Rules) -> None:
    # BR-DE-21 reads $XR-CIUS-ID, a `let` of common.sch that only a global binding makes visible to the rule.
    xrechnung = rules.failed_asserts("xrechnung-ubl", (FIXTURES / "xrechnung" / "01.01a-INVOICE_ubl.xml").read_bytes())
    peppol = rules.failed_asserts("xrechnung-ubl", (FIXTURES / "peppol" / "base-example.xml").read_bytes())
    assert "BR-DE-21" not in {rule for rule, _ in xrechnung}
    assert ("BR-DE-21", "warning") in peppol


def test_peppol_cii_passes_peppols_own_unit_test_for_the_buyer_reference(rules: Rules) -> None:
    test_set = etree.parse(FIXTURES / "peppol" / "unit-CII-PEPPOL-EN16931-R003.xml").getroot()
    outcomes = []
    for test in test_set.iter(f"{VEFA}test"):
        (expected,) = test.iterfind(f"{VEFA}assert/*")
        (document,) = (child for child in test if isinstance(child.tag, str) and child.tag != f"{VEFA}assert")
        fired = "PEPPOL-EN16931-R003" in rules.fatal("peppol-cii", etree.tostring(document))
        outcomes.append((etree.QName(expected).localname, fired))
    assert outcomes == [("success", False), ("success", False), ("error", True)]
