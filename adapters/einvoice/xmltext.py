"""What the CII and UBL writers share: elements appended in the order the XSD fixes, and numbers as text."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree


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
