"""The Swiss QR-bill on CHF invoices (SIX IG QR-bill v2.3): the payload made by ``qrbill`` and drawn on the
invoice PDF as the payment part, with its QR code (error correction M, 46 mm, the Swiss cross in the middle).

Only structured addresses (type S) are used, as v2.3 requires; ``qrbill`` would also emit combined ones,
so addresses are passed as their parts and never as lines. Our CHF account is an ordinary IBAN, not a
QR-IBAN, so the reference is the invoice's ISO 11649 RF (type SCOR). ``qrbill`` does not check the QR-bill
character set: text goes through the Swiss Payment Standards' Latin-1 rule first, as payment files do.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import qrcode
from fpdf import FPDF
from qrbill import QRBill

from adapters.iso20022 import SPS_CURRENCY, scheme_text

QR_BILL_CURRENCIES = ("CHF",)
_QR_COUNTRIES = ("CH", "LI")  # a QR-bill credits a Swiss or Liechtenstein account only
_QR_SIZE_MM = 46.0
_CROSS_MM = 7.0
_PART_TOP_MM = 192.0  # the payment part fills the bottom 105 mm of an A4 page
_RECEIPT_MM = 62.0


def _address(party: dict[str, Any]) -> dict[str, str] | None:
    """A party of the stored invoice as a structured QR-bill address; None without one (or without the
    postcode and town a QR-bill needs)."""
    address = party.get("postal_address")
    if address is None or not address["postcode"] or not address["town"]:
        return None

    def text(value: str | None, limit: int) -> str:
        return scheme_text(value or "", SPS_CURRENCY, limit)

    return {
        "name": text(party["name"], 70),
        "street": text(address["street"], 70),
        "house_num": text(address["building_number"], 16),
        "pcode": text(address["postcode"], 16),
        "city": text(address["town"], 35),
        "country": address["country"],
    }


def qr_bill(document: dict[str, Any]) -> QRBill | None:
    """The QR-bill of a stored invoice: a CHF invoice to collect, paid into our Swiss account, from a supplier
    with a structured address; None for anything else (credit notes, self-billed invoices, other currencies)."""
    payment = document.get("payment")
    if document["currency"] not in QR_BILL_CURRENCIES or payment is None or payment["account"] is None:
        return None
    account = payment["account"]
    creditor = _address(document["supplier"])
    if creditor is None or account["iban"][:2] not in _QR_COUNTRIES:
        return None
    return QRBill(
        account=account["iban"],
        creditor=creditor,
        amount=Decimal(document["totals"]["gross"]),
        currency=document["currency"],
        debtor=_address(document["customer"]),
        reference_number=payment["reference"],
        additional_information=scheme_text(f"Invoice {document['number']}", SPS_CURRENCY, 140),
        language="en",
    )


def _draw_qr_code(pdf: FPDF, payload: str, x: float, y: float) -> None:
    """The payload as a QR code of 46 mm (error correction M, no quiet zone: the part's margins are it), with
    the Swiss cross of 7 mm in its middle."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    module = _QR_SIZE_MM / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        column = 0
        while column < len(cells):  # one rectangle per run of dark modules
            if not cells[column]:
                column += 1
                continue
            start = column
            while column < len(cells) and cells[column]:
                column += 1
            pdf.rect(x + start * module, y + row * module, (column - start) * module, module, style="F")
    # The cross: a white frame, a black square, a white cross (proportions of the IG's 7 mm artwork).
    cx, cy = x + (_QR_SIZE_MM - _CROSS_MM) / 2, y + (_QR_SIZE_MM - _CROSS_MM) / 2
    frame = _CROSS_MM * 0.7 / 19
    arm, bar = _CROSS_MM * 11 / 19, _CROSS_MM * 3.3 / 19
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(cx, cy, _CROSS_MM, _CROSS_MM, style="F")
    pdf.set_fill_color(0, 0, 0)
    pdf.rect(cx + frame, cy + frame, _CROSS_MM - 2 * frame, _CROSS_MM - 2 * frame, style="F")
    pdf.set_fill_color(255, 255, 255)
    middle = _CROSS_MM / 2
    pdf.rect(cx + middle - bar / 2, cy + middle - arm / 2, bar, arm, style="F")
    pdf.rect(cx + middle - arm / 2, cy + middle - bar / 2, arm, bar, style="F")
    pdf.set_fill_color(0, 0, 0)


def _lines(bill: QRBill, *, receipt: bool) -> list[tuple[str, list[str]]]:
    reference = " ".join(bill.reference_number[i : i + 4] for i in range(0, len(bill.reference_number), 4))
    sections = [
        ("Account / Payable to", [_iban(bill.account), *bill.creditor.as_paragraph()]),
        ("Reference", [reference]),
    ]
    if not receipt and bill.additional_information:
        sections.append(("Additional information", [bill.additional_information]))
    if bill.debtor is not None:
        sections.append(("Payable by", list(bill.debtor.as_paragraph())))
    return sections


def _iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def draw_payment_part(pdf: FPDF, bill: QRBill) -> None:
    """A new page whose bottom 105 mm are the receipt and the payment part, as the IG lays them out."""
    pdf.add_page()
    pdf.set_auto_page_break(auto=False)
    top = _PART_TOP_MM
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.line(0, top, pdf.w, top)
    pdf.line(_RECEIPT_MM, top, _RECEIPT_MM, pdf.h)
    pdf.set_dash_pattern()
    amount = f"{Decimal(bill.amount):,.2f}".replace(",", " ")

    def block(x: float, y: float, width: float, title: str, sections: list[tuple[str, list[str]]]) -> None:
        pdf.set_xy(x, y)
        pdf.set_font(pdf.font_family, "B", 11)
        pdf.cell(width, 7, title, new_x="LEFT", new_y="NEXT")
        for heading, lines in sections:
            pdf.set_font(pdf.font_family, "B", 6 if title == "Receipt" else 8)
            pdf.cell(width, 3.5, heading, new_x="LEFT", new_y="NEXT")
            pdf.set_font(pdf.font_family, "", 8 if title == "Receipt" else 10)
            for line in lines:
                pdf.cell(width, 3.8 if title == "Receipt" else 4.2, line, new_x="LEFT", new_y="NEXT")
            pdf.ln(1.5)

    block(5, top + 5, _RECEIPT_MM - 10, "Receipt", _lines(bill, receipt=True))
    block(5, top + 68, 25, "", [("Currency", [bill.currency])])
    block(25, top + 68, 30, "", [("Amount", [amount])])
    pdf.set_xy(_RECEIPT_MM + 5, top + 5)
    pdf.set_font(pdf.font_family, "B", 11)
    pdf.cell(51, 7, "Payment part")
    _draw_qr_code(pdf, bill.qr_data(), _RECEIPT_MM + 5, top + 17)
    block(_RECEIPT_MM + 5, top + 68, 20, "", [("Currency", [bill.currency])])
    block(_RECEIPT_MM + 25, top + 68, 30, "", [("Amount", [amount])])
    block(118, top + 5, 87, "", _lines(bill, receipt=False))
    pdf.set_auto_page_break(auto=True, margin=18)
