"""What the CII and UBL writers share: elements appended in the order the XSD fixes, and numbers as text."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from lxml import etree

# UNTDID 1153: a line's invoiced object (BT-128) is a reference of type 130.
INVOICED_OBJECT = "130"
# UNTDID 5153: the tax scheme of every VAT element.
VAT = "VAT"


def in_namespace(namespace: str) -> Callable[[str], str]:
    """The Clark-notation name maker of one namespace: ``in_namespace(NS)("ID")`` is ``{NS}ID``."""
    return lambda name: f"{{{namespace}}}{name}"


def child(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    """Append ``tag`` (Clark notation) to ``parent``, with its text and attributes."""
    element = etree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def number(value: Decimal) -> str:
    """A decimal as XML writes it: plain notation, never an exponent (``Decimal("0E-2")`` is ``0.00``)."""
    return f"{value:f}"


def serialised(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
