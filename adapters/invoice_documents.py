"""Invoice documents for people: an HTML page and a printable PDF, both rendered from the JSON document
stored when the invoice was issued (never recomputed), so every rendering says exactly what was issued.

The PDF is set in DejaVu Sans (``adapters/fonts/``), embedded: it prints any script, and a PDF/A (the
Factur-X container) admits only embedded fonts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF
from jinja2 import Environment, PackageLoader, select_autoescape

from adapters.swiss_qr_bill import draw_payment_part, qr_bill
from domain.invoicing.creditor_reference import printed
from domain.vat.parties import display_vat_id

_TREATMENTS = {
    "DOMESTIC": "VAT charged",
    "REVERSE_CHARGE": "Reverse charge: VAT due by the customer",
    "OUT_OF_SCOPE": "Outside the scope of VAT",
}
_FONTS = Path(__file__).parent / "fonts"
FONT_FAMILY = "DejaVu"
# What Factur-X asks of the visible PDF: PDF/A-3, level B (embedded fonts, an sRGB output intent, XMP).
PDF_A = "PDF/A-3B"

templates = Environment(loader=PackageLoader("adapters", "templates"), autoescape=select_autoescape(["html", "j2"]))


def title(document: dict[str, Any]) -> str:
    kind = "Credit note" if document["kind"] == "CREDIT_NOTE" else "Invoice"
    return f"Self-billed {kind.lower()}" if document["self_billing"] else kind


def _vat_id(party: dict[str, Any]) -> str:
    return "none" if party["vat_id"] is None else display_vat_id(party["vat_id"])


def _rate(line: dict[str, Any]) -> str:
    rate = line["vat_rate"]
    return "-" if rate is None else f"{rate['percent']} %"


def footnotes(document: dict[str, Any]) -> list[str]:
    """What the reader needs to check the VAT: each rate's source and, for VAT stated in a national currency
    the invoice is not in (Art. 230), the reference rate used."""
    notes: list[str] = []
    for line in document["lines"]:
        rate = line["vat_rate"]
        if rate is not None:
            notes.append(
                f"VAT rate {rate['percent']} % ({rate['country']}, {rate['category'].lower()}, in force from "
                f"{rate['valid_from']}): {rate['source']}."
            )
        fx = line["national_vat"]["fx_rate"]
        if fx is not None:
            notes.append(
                f"VAT stated in {fx['quote']} at 1 {fx['base']} = {fx['rate']} {fx['quote']}, {fx['source']}, "
                f"{fx['as_of']} (Art. 230 VAT Directive)."
            )
    if document["self_billing"]:
        notes.append(
            f"Issued by the customer, {document['customer']['name']}, in the name and on behalf of the supplier "
            "under a self-billing agreement (Art. 224 VAT Directive)."
        )
    return list(dict.fromkeys(notes))


def spaced_iban(iban: str) -> str:
    """An IBAN as printed: in groups of four."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def how_to_pay(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The invoice's payment block as (label, value) rows: when it is due, where to pay and the reference to
    quote. A credit note says it asks for no payment; a self-billed invoice (paid by our payout) and an
    invoice issued before payment details existed say nothing."""
    if document["kind"] == "CREDIT_NOTE":
        return [("Payment", "This credit note is not a request for payment: there is nothing to pay.")]
    payment = document.get("payment")
    if payment is None:
        return []
    rows = [
        ("Due date", payment["due_date"]),
        ("Amount due", f"{document['totals']['gross']} {document['currency']}"),
        ("Payment reference", printed(payment["reference"])),
    ]
    account = payment["account"]
    if account is None:
        rows.append(("Pay to", f"ask us for our {document['currency']} account; quote the reference"))
    else:
        iban = account["iban"]
        rows += [
            ("Account holder", account["holder"]),
            ("IBAN", spaced_iban(iban)),
            ("BIC", account["bic"]),
        ]
    return rows


def render_html(document: dict[str, Any]) -> str:
    return templates.get_template("invoice.html.j2").render(
        doc=document,
        title=title(document),
        rate=_rate,
        vat_id=_vat_id,
        treatment=lambda code: _TREATMENTS.get(code, code),
        footnotes=footnotes(document),
        payment=how_to_pay(document),
    )


class DocumentPdf(FPDF):
    """An A4 page in the font of our documents (invoices, reminders), with a text line and a grid; a PDF/A-3B
    when ``pdf_a`` (fpdf2 then refuses anything PDF/A forbids)."""

    def __init__(self, *, pdf_a: bool = False) -> None:
        super().__init__(orientation="P", unit="mm", format="A4", enforce_compliance=PDF_A if pdf_a else None)
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(FONT_FAMILY, "", str(_FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT_FAMILY, "B", str(_FONTS / "DejaVuSans-Bold.ttf"))

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(FONT_FAMILY, "B" if bold else "", size)

    def text_line(self, text: str, size: float = 9, bold: bool = False, height: float = 4.6) -> None:
        self.font(size, bold)
        self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    def totals(self, rows: list[tuple[str, str, bool]], currency: str) -> None:
        """(label, amount, bold) rows, right-aligned at the foot of a table."""
        for label, amount, bold in rows:
            self.set_x(self.w - self.r_margin - 80)
            self.font(10, bold=bold)
            self.cell(45, 6, label)
            self.cell(35, 6, f"{amount} {currency}", align="R", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def labelled(self, rows: list[tuple[str, str]], label_width: float = 36) -> None:
        """(label, value) rows: a bold label, its value beside it."""
        for label, value in rows:
            self.font(9, bold=True)
            self.cell(label_width, 5, label)
            self.font(9)
            self.multi_cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def grid(self, headings: list[str], rows: list[list[str]], widths: list[float], numeric: set[int]) -> None:
        self.font(7.5, bold=True)
        for i, heading in enumerate(headings):
            self.cell(widths[i], 6, heading, border="B", align="R" if i in numeric else "L")
        self.ln()
        self.font(8)
        for row in rows:
            top = self.get_y()
            heights = []
            for i, value in enumerate(row):
                self.set_xy(self.l_margin + sum(widths[:i]), top)
                self.multi_cell(widths[i], 4.4, value, align="R" if i in numeric else "L")
                heights.append(self.get_y() - top)
            self.set_y(top + max(heights) + 1.2)
            self.line(self.l_margin, self.get_y() - 0.6, self.l_margin + sum(widths), self.get_y() - 0.6)
        self.ln(3)


def render_pdf(document: dict[str, Any], *, pdf_a: bool = False) -> bytes:
    """The document as a PDF; a PDF/A-3B with ``pdf_a``, ready to carry its Factur-X XML
    (``adapters.einvoice.facturx``)."""
    pdf = DocumentPdf(pdf_a=pdf_a)
    pdf.set_title(f"{title(document)} {document['number']}")
    pdf.add_page()
    pdf.text_line(title(document), size=18, bold=True, height=9)
    for note in document["notes"]:
        pdf.text_line(note.upper(), size=10, bold=True, height=5.5)
    pdf.ln(2)
    supply = document["supply_period"]
    when = supply["from"] if supply["from"] == supply["to"] else f"{supply['from']} to {supply['to']}"
    meta = [
        ("Number", document["number"]),
        ("Issue date", document["issue_date"]),
        ("Date of supply", when),
        ("Currency", document["currency"]),
    ]
    if document["statement_period"]:
        meta.append(("Statement for", document["statement_period"]))
    if document.get("corrects"):
        meta.append(("Cancels", document["corrects"]))
    pdf.labelled(meta, label_width=32)
    top, half = pdf.get_y(), (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    for i, (label, party) in enumerate((("Supplier", document["supplier"]), ("Customer", document["customer"]))):
        pdf.set_xy(pdf.l_margin + i * half, top)
        block = [party["name"], party["address"], party["country_name"], f"VAT id: {_vat_id(party)}"]
        pdf.font(7.5, bold=True)
        pdf.cell(half, 5, label.upper(), new_x="LEFT", new_y="NEXT")
        for j, text in enumerate(block):
            pdf.font(9, bold=j == 0)
            pdf.cell(half, 4.8, text, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin, top + 30)
    currency = document["currency"]
    pdf.grid(
        ["Description", "Supplied", "kWh", "Unit price", "Net", "VAT rate", "VAT", "Gross"],
        [
            [
                line["description"],
                line["supplied_on"],
                line["quantity"],
                line["unit_price"],
                line["net"],
                _rate(line),
                line["vat"],
                line["gross"],
            ]
            for line in document["lines"]
        ],
        [58, 20, 14, 17, 17, 15, 16, 17],
        numeric={2, 3, 4, 5, 6, 7},
    )
    pdf.grid(
        ["Place of supply", "VAT treatment", "Rate", "Taxable amount", "VAT", "VAT, national currency"],
        [
            [
                group["place_of_supply"],
                _TREATMENTS.get(group["vat_treatment"], group["vat_treatment"]),
                f"{group['vat_percent']} %",
                f"{group['net']} {currency}",
                f"{group['vat']} {currency}",
                f"{group['national_vat']} {group['national_currency']}",
            ]
            for group in document["vat_summary"]
        ],
        [24, 52, 14, 28, 28, 28],
        numeric={2, 3, 4, 5},
    )
    totals = document["totals"]
    pdf.totals(
        [
            ("Total excluding VAT", totals["net"], False),
            ("VAT", totals["vat"], False),
            ("Total due", totals["gross"], True),
        ],
        currency,
    )
    pdf.labelled(how_to_pay(document))
    for note in footnotes(document):
        pdf.text_line(note, size=7.5, height=3.8)
    bill = qr_bill(document)
    if bill is not None:
        pdf.font(9)
        draw_payment_part(pdf, bill)
    return bytes(pdf.output())
