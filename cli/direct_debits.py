"""``networkcore partners mandate add|revoke|list`` and ``networkcore bank collect|collections|
collection-status``: SEPA Direct Debit mandates, the collection run and what became of each collection."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from domain.errors import DomainError
from domain.money import from_minor
from domain.partners import FieldInvalid
from domain.payouts.bank import BankAccount
from persistence.db import SessionFactory
from services import direct_debits


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from error


def mandate_arguments(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mandate = actions.add_parser("mandate", help="a demand partner's SEPA Direct Debit mandates")
    mandate_actions = mandate.add_subparsers(dest="mandate_action", required=True)
    add = mandate_actions.add_parser("add", help="store a signed mandate (its contract must say DIRECT_DEBIT)")
    add.add_argument("partner")
    add.add_argument("--mandate-id", required=True, help="the unique mandate reference (UMR), at most 35")
    add.add_argument("--signed-on", type=_date, required=True, help="the signature date, YYYY-MM-DD")
    add.add_argument("--scheme", default="B2B", help="CORE or B2B (default B2B: our debtors are companies)")
    add.add_argument("--iban", required=True, help="the debtor's account, in a SEPA country")
    add.add_argument("--bic", help="the debtor's bank (optional in SEPA)")
    add.add_argument("--one-off", action="store_true", help="a single-use mandate (OOFF) instead of recurring")
    revoke = mandate_actions.add_parser("revoke", help="no collection under it from now on")
    revoke.add_argument("mandate_id")
    revoke.add_argument("--reason", default="revoked by the partner")
    mandate_actions.add_parser("list", help="mandates, of one partner or all").add_argument("partner", nargs="?")


def run_mandate(writes: SessionFactory, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    try:
        if args.mandate_action == "add":
            line = direct_debits.add_mandate(
                writes,
                partner_id=args.partner,
                mandate_id=args.mandate_id,
                signed_on=args.signed_on,
                scheme=args.scheme,
                iban=args.iban,
                bic=args.bic,
                recurring=not args.one_off,
            )
            print(
                f"{line.partner_id}: mandate {line.mandate_id} ({line.scheme}, {line.sequence_type}) stored", file=out
            )
        elif args.mandate_action == "revoke":
            line = direct_debits.revoke_mandate(writes, args.mandate_id, args.reason)
            print(f"{line.partner_id}: mandate {line.mandate_id} revoked", file=out)
        else:
            lines = direct_debits.mandates(writes, args.partner)
            if not lines:
                print("no mandates", file=out)
            for m in lines:
                print(
                    f"{m.partner_id}\t{m.mandate_id}\t{m.scheme}\t{m.sequence_type}\t{m.iban}\t{m.bic or '-'}\t"
                    f"signed {m.signed_on}\tlast collection {m.last_collection_on or '-'}\t{m.status}"
                    f"{f' ({m.status_reason})' if m.status_reason else ''}",
                    file=out,
                )
    except FieldInvalid as invalid:
        print(f"refused: {invalid}", file=sys.stderr)
        return 2
    except DomainError as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    return 0


def run_collect(
    writes: SessionFactory,
    run_date: date | None,
    *,
    outbox: Path,
    inbox: Path,
    creditor: BankAccount,
    creditor_id: str,
    out: TextIO = sys.stdout,
) -> int:
    """Settle, plan, build and send as the daily run does, for ``run_date`` (today by default)."""
    try:
        collector = direct_debits.collector(
            writes, outbox=outbox, inbox=inbox, creditor=creditor, creditor_id=creditor_id
        )
        result = direct_debits.collect(collector, run_date or datetime.now(UTC).date())
    except DomainError as refused:
        print(f"networkcore bank collect: {refused}", file=sys.stderr)
        return 1
    print(f"{result.run_date}: {result.settled} collection(s) settled (receivable -> cash in transit)", file=out)
    for message_id in result.files:
        print(f"  built {message_id} (pain.008, validated)", file=out)
    for message_id in result.sent:
        print(f"  sent {message_id} to {outbox / (message_id + '.xml')}", file=out)
    for note in result.notes:
        print(f"  not collected: {note}", file=out)
    return 0


def print_collections(reads: SessionFactory, partner: str | None, *, as_json: bool, out: TextIO = sys.stdout) -> int:
    lines = direct_debits.collections(reads, partner)
    flags = direct_debits.flagged_partners(lines)
    rows = [
        {
            "end_to_end_id": c.end_to_end_id,
            "partner": c.partner_id,
            "invoice": c.invoice_number,
            "attempt": c.attempt,
            "amount": str(from_minor(c.amount_minor, c.currency)),
            "currency": c.currency,
            "due_on": c.due_on.isoformat(),
            "collection_date": None if c.collection_date is None else c.collection_date.isoformat(),
            "state": c.state,
            "reason_code": c.reason_code,
            "reason": c.reason,
            "mandate": c.mandate_id,
        }
        for c in lines
    ]
    if as_json:
        print(json.dumps({"collections": rows, "flagged_partners": flags}, indent=2), file=out)
        return 0
    if not rows:
        print("no direct-debit collections", file=out)
    for c in lines:
        reason = f"  {c.reason_code}: {c.reason}" if c.reason_code else ""
        print(
            f"  {c.end_to_end_id}  {c.partner_id}  {c.invoice_number}  {from_minor(c.amount_minor, c.currency):>10} "
            f"{c.currency}  due {c.due_on}  debit {c.collection_date or '-'}  {c.state}{reason}",
            file=out,
        )
    for partner_id, flag in sorted(flags.items()):
        print(f"FLAGGED {partner_id}: {flag}", file=out)
    return 0


def run_collection_status(writes: SessionFactory, paths: list[str], out: TextIO = sys.stdout) -> int:
    code = 0
    for name in paths:
        try:
            done = direct_debits.import_status(writes, Path(name).read_bytes())
        except (OSError, DomainError, ValueError) as error:
            print(f"networkcore bank collection-status: {name}: {error}", file=sys.stderr)
            code = 2
            continue
        if not done.known:
            print(f"{name}: {done.message_id} is not a pain.008 of ours: nothing changed", file=out)
            code = max(code, 1)
            continue
        print(f"{name}: {done.message_id} {done.status}", file=out)
        for outcome in done.outcomes:
            print(f"  {outcome}", file=out)
    return code
