"""Payment reminders for people: an HTML page and a printable PDF rendered from the document stored when
the reminder was issued (``domain.collections.dunning.reminder_document``), in the invoices' style."""

from __future__ import annotations

from typing import Any

from adapters.invoice_documents import DocumentPdf, spaced_iban, templates
from domain.invoicing.creditor_reference import printed


def _reference(reference: str | None) -> str:
    return "-" if reference is None else printed(reference)


def _totals(document: dict[str, Any]) -> list[tuple[str, str, bool]]:
    totals = document["totals"]
    return [
        ("Open on the invoices", totals["open"], False),
        ("Late-payment interest", totals["interest"], False),
        ("Recovery costs", totals["fees"], False),
        ("Total due", totals["due"], True),
    ]


def _pay_to(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Where to pay: our account in the reminder's currency; each invoice's own reference is quoted."""
    account = document["pay_to"]
    rows = [("Reference", "quote each invoice's payment reference")]
    if account is None:
        return [("Pay to", f"ask us for our {document['currency']} account"), *rows]
    return [
        ("Account holder", account["holder"]),
        ("IBAN", spaced_iban(account["iban"])),
        ("BIC", account["bic"]),
        *rows,
    ]


def render_html(document: dict[str, Any]) -> str:
    return templates.get_template("reminder.html.j2").render(
        doc=document, reference=_reference, totals=_totals(document), pay_to=_pay_to(document)
    )


def render_pdf(document: dict[str, Any]) -> bytes:
    pdf = DocumentPdf()
    pdf.set_title(f"{document['title']} {document['number']}")
    pdf.add_page()
    pdf.text_line(document["title"], size=18, bold=True, height=9)
    pdf.ln(2)
    pdf.labelled(
        [("Number", document["number"]), ("Date", document["issue_date"]), ("Currency", document["currency"])],
        label_width=32,
    )
    for label, party in (("From", document["supplier"]), ("To", document["customer"])):
        pdf.text_line(label.upper(), size=7.5, bold=True)
        pdf.text_line(f"{party['name']}, {party['address']}, {party['country']}")
    pdf.ln(3)
    pdf.text_line(document["notes"][0])
    pdf.ln(2)
    pdf.grid(
        ["Invoice", "Payment reference", "Due date", "Days late", "Open", "Interest", "Recovery fee"],
        [
            [
                item["invoice"],
                _reference(item["payment_reference"]),
                item["due_date"],
                str(item["days_late"]),
                item["open"],
                item["interest"],
                item["fee"],
            ]
            for item in document["items"]
        ],
        [30, 44, 20, 16, 22, 20, 22],
        numeric={3, 4, 5, 6},
    )
    pdf.totals(_totals(document), document["currency"])
    pdf.labelled(_pay_to(document))
    for note in document["notes"][1:]:
        pdf.text_line(note, size=7.5, height=3.8)
    return bytes(pdf.output())
