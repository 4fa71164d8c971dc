"""camt.053/.054.001.08 files for tests, built like a bank writes them (every one is XSD-valid)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Tx:
    amount: str | None = None
    end_to_end_id: str | None = None
    message_id: str | None = None
    scor: tuple[str, ...] = ()
    ustrd: str | None = None
    debtor_iban: str | None = None
    debtor_name: str | None = None
    return_reason: str | None = None


@dataclass(frozen=True)
class Ntry:
    amount: str
    ref: str
    direction: str = "CRDT"
    status: str = "BOOK"
    booked: str = "2026-06-01"
    code: str = "PMNT/RCDT/ESCT"
    batch: str | None = None  # Btch/PmtInfId
    txs: tuple[Tx, ...] = field(default_factory=tuple)


def _tx(tx: Tx, currency: str, direction: str) -> str:
    refs = "".join(
        f"<{tag}>{escape(value)}</{tag}>"
        for tag, value in (("MsgId", tx.message_id), ("EndToEndId", tx.end_to_end_id))
        if value
    )
    parties = ""
    if tx.debtor_iban or tx.debtor_name:
        name = f"<Dbtr><Pty><Nm>{escape(tx.debtor_name or 'Payer')}</Nm></Pty></Dbtr>"
        account = f"<DbtrAcct><Id><IBAN>{tx.debtor_iban}</IBAN></Id></DbtrAcct>" if tx.debtor_iban else ""
        parties = f"<RltdPties>{name}{account}</RltdPties>"
    remittance = ""
    if tx.ustrd or tx.scor:
        ustrd = f"<Ustrd>{escape(tx.ustrd)}</Ustrd>" if tx.ustrd else ""
        strd = "".join(
            f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{r}</Ref></CdtrRefInf></Strd>"
            for r in tx.scor
        )
        remittance = f"<RmtInf>{ustrd}{strd}</RmtInf>"
    amount = f'<Amt Ccy="{currency}">{tx.amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>' if tx.amount else ""
    returned = f"<RtrInf><Rsn><Cd>{tx.return_reason}</Cd></Rsn></RtrInf>" if tx.return_reason else ""
    return f"<TxDtls>{f'<Refs>{refs}</Refs>' if refs else ''}{amount}{parties}{remittance}{returned}</TxDtls>"


def _entry(entry: Ntry, currency: str) -> str:
    domain, family, sub = entry.code.split("/")
    batch = f"<Btch><PmtInfId>{entry.batch}</PmtInfId></Btch>" if entry.batch else ""
    details = "".join(_tx(t, currency, entry.direction) for t in entry.txs)
    booked = f"<BookgDt><Dt>{entry.booked}</Dt></BookgDt>" if entry.status == "BOOK" else ""
    return (
        f'<Ntry><Amt Ccy="{currency}">{entry.amount}</Amt><CdtDbtInd>{entry.direction}</CdtDbtInd>'
        f"<Sts><Cd>{entry.status}</Cd></Sts>{booked}<AcctSvcrRef>{entry.ref}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>{domain}</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>{sub}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"{f'<NtryDtls>{batch}{details}</NtryDtls>' if batch or details else ''}</Ntry>"
    )


def _balance(code: str, amount: Decimal, currency: str, day: str) -> str:
    direction = "DBIT" if amount < 0 else "CRDT"
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{abs(amount):.2f}</Amt>'
        f"<CdtDbtInd>{direction}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def camt053(
    iban: str,
    currency: str,
    entries: list[Ntry],
    *,
    opening: str = "0.00",
    closing: str | None = None,
    sequence: int = 1,
    day: str = "2026-06-01",
    message_id: str = "STMT-1",
) -> bytes:
    """A statement; the closing balance adds up unless ``closing`` says otherwise."""
    moved = sum(
        (Decimal(e.amount) * (1 if e.direction == "CRDT" else -1) for e in entries if e.status == "BOOK"), Decimal(0)
    )
    close = Decimal(closing) if closing is not None else Decimal(opening) + moved
    body = (
        f"<Stmt><Id>{message_id}-S</Id><ElctrncSeqNb>{sequence}</ElctrncSeqNb>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
        f"{_balance('OPBD', Decimal(opening), currency, day)}{_balance('CLBD', close, currency, day)}"
        f"{''.join(_entry(e, currency) for e in entries)}</Stmt>"
    )
    return _document("camt.053.001.08", "BkToCstmrStmt", message_id, body)


def camt054(iban: str, currency: str, entries: list[Ntry], *, message_id: str = "NTF-1") -> bytes:
    body = (
        f"<Ntfctn><Id>{message_id}-N</Id><Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>"
        f"{''.join(_entry(e, currency) for e in entries)}</Ntfctn>"
    )
    return _document("camt.054.001.08", "BkToCstmrDbtCdtNtfctn", message_id, body)


def _document(message: str, root: str, message_id: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:{message}">'
        f"<{root}><GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2026-06-01T22:00:00+00:00</CreDtTm></GrpHdr>"
        f"{body}</{root}></Document>"
    ).encode()
