"""OCPI Commands: the CPO's asynchronous CommandResult for a command we sent (on the ``response_url`` we
gave it). Only a START_SESSION that did not start is news for the session's workflow."""

from __future__ import annotations

from sqlalchemy.orm import Session

from domain.parties import Cpo
from messages.ocpi import CommandResult, CommandResultType, CommandType
from messages.sessions import CommandResultReported
from services.context import WriteAndStart
from services.ocpi.forwarding import receive
from services.ocpi.inbox import CpoMessage, Inbox, IntakeResult, Kind, Outcome, our_session, parse


async def receive_command_result(
    context: WriteAndStart, cpo: Cpo, command: str, session_id: str, body: bytes
) -> IntakeResult:
    message = CpoMessage(cpo, Kind.COMMAND_RESULT, f"{command}/{session_id}", body)
    return await receive(
        context, "CommandResult", message, lambda db: post_command_result(db, cpo, command, session_id, body)
    )


def post_command_result(db: Session, cpo: Cpo, command: str, session_id: str, body: bytes) -> IntakeResult:
    inbox = Inbox(db, cpo, Kind.COMMAND_RESULT, f"{command}/{session_id}", body)
    result = parse(CommandResult, body)
    if isinstance(result, str):
        return inbox.reject(result)
    try:
        command_type = CommandType(command)
    except ValueError:
        return inbox.reject(f"unknown command {command}")
    ours = our_session(db, cpo, session_id)
    if ours is None:
        return inbox.reject("unknown session: this is not a response_url we gave you", outcome=Outcome.UNKNOWN_SESSION)
    signal = None
    if command_type == CommandType.START_SESSION and result.result != CommandResultType.ACCEPTED:
        text = "; ".join(m.get("text", "") for m in result.message or []) or None
        signal = CommandResultReported(command=command_type, result=result.result, message=text)
    return inbox.accept(Outcome.APPLIED, our_session_id=ours.id, signal=signal)
