"""The demo's corrections, through the same doors as in production: a CPO credits a settled session's CDR
and re-issues it with less energy (OCPI, as the CPO), and an operator settles a price dispute (the
disputes API, with an operator key). Both are then waited for and reported."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from temporalio.client import Client

from adapters.temporal_client import connect_temporal
from config.settings import Settings
from messages.corrections import CorrectionResult
from messages.workflow_ids import credit_correction_workflow_id, settlement_correction_workflow_id
from persistence.db import SessionFactory
from services import operators
from services.ocpi.cdrs import settled_cdr
from simulator.catalogue import CPOS

DEMO_OPERATOR = "demo-ops"
CENT = Decimal("0.01")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def credit_cdr(cdr: dict[str, Any]) -> dict[str, Any]:
    """OCPI's credit CDR: its own id, the same data, costs negated, pointing at the CDR it cancels."""
    credit = dict(cdr, id=f"{cdr['id'][:37]}-C", credit=True, credit_reference_id=cdr["id"])
    for name in ("total_cost", "total_energy_cost", "total_time_cost", "total_fixed_cost", "total_parking_cost"):
        if name in cdr:
            credit[name] = {part: str(-Decimal(str(value))) for part, value in cdr[name].items()}
    return credit | {"last_updated": _stamp(datetime.now(UTC))}


def reissued_cdr(cdr: dict[str, Any], energy_factor: Decimal) -> dict[str, Any]:
    """The CPO's corrected CDR: a new id, the energy scaled (a meter read corrected)."""

    def scaled(value: Any) -> str:
        return str((Decimal(str(value)) * energy_factor).quantize(Decimal("0.001")))

    periods = [
        period
        | {
            "dimensions": [
                dim | {"volume": scaled(dim["volume"])} if dim["type"] == "ENERGY" else dim
                for dim in period["dimensions"]
            ]
        }
        for period in cdr["charging_periods"]
    ]
    total = sum(
        (Decimal(dim["volume"]) for p in periods for dim in p["dimensions"] if dim["type"] == "ENERGY"), Decimal(0)
    )
    return cdr | {
        "id": str(uuid.uuid4()),
        "charging_periods": periods,
        "total_energy": str(total),
        "last_updated": _stamp(datetime.now(UTC)),
    }


async def _done(client: Client, workflow_id: str) -> CorrectionResult:
    result: CorrectionResult = await client.get_workflow_handle(workflow_id, result_type=CorrectionResult).result()
    return result


async def correct(
    settings: Settings, writes: SessionFactory, api_url: str, *, credited: str, disputed: str | None
) -> dict[str, Any]:
    """Credit and re-issue ``credited``'s CDR; settle ``disputed``'s discrepancy halfway between the official
    price and the CPO's claim. Returns what happened, once both corrections are done."""
    client = await connect_temporal(settings.temporal_address, settings.temporal_namespace)
    report: dict[str, Any] = {"credited_session": credited}
    with writes() as db:
        cpo_id, cdr = settled_cdr(db, credited)
    [cpo] = [c for c in CPOS if c.id == cpo_id]
    # The CPO sends them, from its back office: the simulator signs them with its credentials.
    sent_by_cpo = f"{settings.simulator_url}/admin/cpos/{cpo.party}/cdrs"
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
        for what, body in (("credit", credit_cdr(cdr)), ("reissue", reissued_cdr(cdr, Decimal("0.9")))):
            reply = (await http.post(sent_by_cpo, content=json.dumps(body))).json()
            report[f"{what}_answer"] = reply["status_message"]
        credit = await _done(client, credit_correction_workflow_id(credited, 0))
        resettled = await _done(client, settlement_correction_workflow_id(credited, 1))
        report["credit_notes"] = credit.credit_notes
        report["reissued_invoices"] = [resettled.invoice or "on the statement", resettled.self_billed_invoice or "-"]
        if disputed is not None:
            report |= await _decide(writes, client, http, disputed)
    return report


async def _decide(writes: SessionFactory, client: Client, http: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    with writes.begin() as db:
        operators.revoke_operator(db, DEMO_OPERATOR, now=now)
        key = operators.add_operator(db, DEMO_OPERATOR, now=now)
    ops = {"Authorization": f"Bearer {key}"}
    listed = (await http.get("/v1/disputes", headers=ops)).json()["open"]
    [open_dispute] = [d for d in listed if d["session_id"] == session_id]
    official, claimed = Decimal(open_dispute["official"]), Decimal(open_dispute["claimed"])
    agreed = ((official + claimed) / 2).quantize(CENT)
    reply = await http.post(
        f"/v1/disputes/{session_id}",
        json={"decision": "ADJUST", "amount": str(agreed), "note": "demo: split the difference"},
        headers=ops,
    )
    decision = reply.json()
    if decision.get("correction"):
        await _done(client, decision["correction"])
    return {"disputed_session": session_id, "dispute": decision}


def print_corrections(console: Console, report: dict[str, Any]) -> None:
    table = Table(title="Corrections (credit CDR + re-issued CDR, a dispute decided by an operator)")
    table.add_column("what")
    table.add_column("result", overflow="fold")
    table.add_row("credit CDR", f"{report['credit_answer']}; credit notes {', '.join(report['credit_notes'])}")
    table.add_row("re-issued CDR", f"{report['reissue_answer']}; invoices {', '.join(report['reissued_invoices'])}")
    dispute = report.get("dispute")
    if dispute:
        table.add_row(
            "dispute",
            f"{dispute['decision']} by {dispute['decided_by']}: official {dispute['official']}, claimed "
            f"{dispute['claimed']}, agreed {dispute['agreed']} {dispute['currency']} ({dispute['correction']})",
        )
    console.print(table)
