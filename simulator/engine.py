"""The simulated CPO back end. It answers commands at once and then, like a real CPO, reports the
session over OCPI: CommandResult, Session PUT (PENDING), PATCHes (ACTIVE, energy, COMPLETED), and the CDR.

Driver references (the token uid) starting with these prefixes select what goes wrong:
``sim-reject`` (start refused), ``sim-fail`` (CommandResult FAILED), ``sim-no-show`` (accepted, no
session), ``sim-no-cdr`` (session but no CDR), ``sim-until-stop`` (charges until STOP_SESSION),
``sim-invalid`` (session declared INVALID), ``sim-overcharge`` (CDR priced 10 % above the tariff).

Its timestamps are the real clock, so nothing it reports lies in the future: a session is compressed, not
moved (``SimulatorConfig.time_scale``: it delivers the energy of a longer session, and parks that much
shorter). It pushes like a CPO that must not lose a message: a PATCH, CDR or command result that meets a
network error, a 5xx, a 429 or an OCPI 3xxx is retried with backoff (honouring ``Retry-After``) for
``push_retry_for_s``, in order: the session's next message waits for the one before.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import httpx

from domain.sessions.lifecycle import CpoSessionStatus
from messages.ocpi import (
    AllowedType,
    AuthMethod,
    Cdr,
    CdrDimension,
    CdrLocation,
    CdrToken,
    ChargingPeriod,
    CommandResponse,
    CommandResponseType,
    CommandResult,
    CommandResultType,
    GeoLocation,
    LocationReferences,
    OcpiModel,
    OcpiStatus,
    Session,
    SessionPatch,
    StartSession,
    StopSession,
    Token,
    TokenType,
)
from simulator.config import SimCpo, SimEvse, SimLocation, SimulatorConfig
from simulator.connections import ConnectionStore, EmspConnection, NotConnected, endpoint_url
from simulator.pricing import price_cdr
from simulator.registration import routed_headers

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 30
UNTIL_STOP_CAP_S = 3600.0
MAX_SIMULATED_KW = Decimal(50)
FIRST_BACKOFF_S = 0.1
KWH = Decimal("0.0001")
HOURS = Decimal("0.0001")
PARKING = timedelta(minutes=4)
Party = tuple[str, str]


@dataclass
class RunningSession:
    id: str
    cpo: SimCpo
    location: SimLocation
    evse: SimEvse
    token: Token
    authorization_reference: str | None
    started_at: datetime
    auth_method: AuthMethod = AuthMethod.COMMAND
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class CpoSimulator:
    def __init__(self, config: SimulatorConfig, http: httpx.AsyncClient, store: ConnectionStore) -> None:
        self._config = config
        self._http = http
        self._store = store
        self._cpos = {(c.country_code, c.party_id): c for c in config.cpos}
        self._writes: dict[str, RunningSession] = {}
        self._by_reference: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # --- commands ----------------------------------------------------------------------------------

    async def start_session(self, party: Party, command: StartSession) -> CommandResponse:
        cpo = self._cpos.get(party)
        found = None if cpo is None else self._find_evse(cpo, command)
        driver = command.token.uid
        if cpo is None or found is None or driver.startswith("sim-reject"):
            return CommandResponse(result=CommandResponseType.REJECTED, timeout=COMMAND_TIMEOUT_S)
        reference = command.authorization_reference
        if reference is not None and reference in self._by_reference:
            # The eMSP retried a command we already acted on: same answer, no second session.
            return CommandResponse(result=CommandResponseType.ACCEPTED, timeout=COMMAND_TIMEOUT_S)
        location, evse = found
        session = RunningSession(
            id=str(uuid.uuid4()),
            cpo=cpo,
            location=location,
            evse=evse,
            token=command.token,
            authorization_reference=reference,
            started_at=datetime.now(UTC),
        )
        if reference is not None:
            self._by_reference[reference] = session.id
        self._spawn(self._run(session, command.response_url))
        return CommandResponse(result=CommandResponseType.ACCEPTED, timeout=COMMAND_TIMEOUT_S)

    async def stop_session(self, party: Party, command: StopSession) -> CommandResponse:
        session = self._writes.get(command.session_id)
        if session is None or (session.cpo.country_code, session.cpo.party_id) != party:
            return CommandResponse(result=CommandResponseType.UNKNOWN_SESSION, timeout=COMMAND_TIMEOUT_S)
        self._spawn(
            self._push(session.cpo, "POST", command.response_url, CommandResult(result=CommandResultType.ACCEPTED))
        )
        session.stop.set()
        return CommandResponse(result=CommandResponseType.ACCEPTED, timeout=COMMAND_TIMEOUT_S)

    # --- drivers at the charger ----------------------------------------------------------------------

    async def tap(self, party: Party, evse_ref: str, uid: str, token_type: TokenType) -> TapOutcome:
        """A driver presents a token (an RFID card, a Plug & Charge car's eMA-ID) at the EVSE ``evse_ref``
        (its uid or EVSE id): authorise it in real time at the eMSP's Tokens module and, when ALLOWED, charge
        as a remote-started session does, on the authorisation's reference. One attempt: a driver waits.
        Raises ``NoSuchCharger``, ``NotConnected``, or ``AuthorisationUnanswered``."""
        cpo = self._cpos.get(party)
        found = None if cpo is None else _evse_by_ref(cpo, evse_ref)
        if cpo is None or found is None:
            raise NoSuchCharger(f"no EVSE {evse_ref} at {party[0]}*{party[1]}")
        location, evse = found
        connection = self._store.registered(cpo.party)
        url = f"{endpoint_url(connection.endpoints, 'tokens', 'SENDER')}/{quote(uid, safe='')}/authorize"
        where = LocationReferences(location_id=location.id, evse_uids=[evse.uid])
        try:
            reply = await self._http.post(
                url,
                params={"type": token_type.value},
                content=where.model_dump_json(),
                headers=routed_headers(cpo, connection),
            )
            answer = reply.json()
            status, info = int(answer["status_code"]), answer.get("data")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise AuthorisationUnanswered(f"POST {url} failed: {error!r}") from error
        if status != OcpiStatus.SUCCESS or not isinstance(info, dict):
            return TapOutcome(status, str(answer.get("status_message", "")), allowed=None)
        allowed = AllowedType(info["allowed"])
        outcome = TapOutcome(status, str(answer.get("status_message", "")), allowed=allowed)
        if allowed != AllowedType.ALLOWED:
            return outcome
        session = RunningSession(
            id=str(uuid.uuid4()),
            cpo=cpo,
            location=location,
            evse=evse,
            token=Token.model_validate(info["token"]),
            authorization_reference=info["authorization_reference"],
            started_at=datetime.now(UTC),
            auth_method=AuthMethod.AUTH_REQUEST,
        )
        self._spawn(self._charge(session))
        return replace(outcome, session_id=session.id, authorization_reference=session.authorization_reference)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: object) -> None:
        assert asyncio.iscoroutine(work)
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _find_evse(cpo: SimCpo, command: StartSession) -> tuple[SimLocation, SimEvse] | None:
        for location in cpo.locations:
            if location.id != command.location_id:
                continue
            for evse in location.evses:
                if command.evse_uid in (None, evse.uid):
                    return location, evse
        return None

    def _kwh(self, session: RunningSession, until: datetime) -> Decimal:
        """The energy by ``until``: the power of the charger for ``time_scale`` times the time charged."""
        power = min(session.evse.max_power_kw, MAX_SIMULATED_KW)
        seconds = Decimal(str((until - session.started_at).total_seconds())) * self._config.time_scale
        return (power * seconds / 3600).quantize(KWH, ROUND_HALF_UP)

    async def _run(self, session: RunningSession, response_url: str) -> None:
        driver = session.token.uid
        cpo = session.cpo
        if driver.startswith("sim-fail"):
            await self._push(cpo, "POST", response_url, CommandResult(result=CommandResultType.FAILED))
            return
        await self._push(cpo, "POST", response_url, CommandResult(result=CommandResultType.ACCEPTED))
        if driver.startswith("sim-no-show"):
            return
        await self._charge(session)

    async def _charge(self, session: RunningSession) -> None:
        """The session from its PUT to its CDR, however it was started."""
        driver = session.token.uid
        cpo = session.cpo
        self._writes[session.id] = session
        path = f"sessions/{cpo.country_code}/{cpo.party_id}/{session.id}"
        await self._push(cpo, "PUT", path, self._session_object(session))
        await self._push(
            cpo,
            "PATCH",
            path,
            SessionPatch(status=CpoSessionStatus.ACTIVE, last_updated=datetime.now(UTC)),
        )
        if driver.startswith("sim-invalid"):
            await self._push(
                cpo,
                "PATCH",
                path,
                SessionPatch(status=CpoSessionStatus.INVALID, last_updated=datetime.now(UTC)),
            )
            return
        duration = UNTIL_STOP_CAP_S if driver.startswith("sim-until-stop") else self._config.charge_duration_s
        deadline = asyncio.get_running_loop().time() + duration
        while not session.stop.is_set() and asyncio.get_running_loop().time() < deadline:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(session.stop.wait(), min(self._config.patch_interval_s, max(remaining, 0)))
            except TimeoutError:
                now = datetime.now(UTC)
                await self._push(cpo, "PATCH", path, SessionPatch(kwh=self._kwh(session, now), last_updated=now))
        charging_end = datetime.now(UTC)
        await asyncio.sleep(PARKING.total_seconds() / float(self._config.time_scale))
        end = datetime.now(UTC)
        await self._push(
            cpo,
            "PATCH",
            path,
            SessionPatch(
                status=CpoSessionStatus.COMPLETED,
                end_date_time=end,
                kwh=self._kwh(session, charging_end),
                last_updated=end,
            ),
        )
        if not driver.startswith("sim-no-cdr"):
            await self._push(cpo, "POST", "cdrs", self._cdr(session, charging_end, end))

    # --- OCPI objects ------------------------------------------------------------------------------

    @staticmethod
    def _token(session: RunningSession) -> CdrToken:
        token = session.token
        return CdrToken(
            country_code=token.country_code,
            party_id=token.party_id,
            uid=token.uid,
            type=token.type,
            contract_id=token.contract_id,
        )

    def _session_object(self, session: RunningSession) -> Session:
        return Session(
            country_code=session.cpo.country_code,
            party_id=session.cpo.party_id,
            id=session.id,
            start_date_time=session.started_at,
            kwh=Decimal(0),
            cdr_token=self._token(session),
            auth_method=session.auth_method,
            authorization_reference=session.authorization_reference,
            location_id=session.location.id,
            evse_uid=session.evse.uid,
            connector_id=session.evse.connector_id,
            currency=session.evse.tariff["currency"],
            status=CpoSessionStatus.PENDING,
            last_updated=session.started_at,
        )

    def _periods(self, session: RunningSession, charging_end: datetime, end: datetime) -> list[ChargingPeriod]:
        """Charging split at quarter hours (as a tariff clock would), then parking."""
        cuts = [session.started_at]
        quarter = session.started_at.replace(minute=(session.started_at.minute // 15) * 15, second=0, microsecond=0)
        while (quarter := quarter + timedelta(minutes=15)) < charging_end and len(cuts) < 3:
            cuts.append(quarter)
        bounds = [*cuts, charging_end]
        periods = []
        for start, stop in itertools.pairwise(bounds):
            hours = Decimal(str((stop - start).total_seconds() / 3600)).quantize(HOURS, ROUND_HALF_UP)
            energy = self._kwh(session, stop) - self._kwh(session, start)
            periods.append(
                ChargingPeriod(
                    start_date_time=start,
                    dimensions=[
                        CdrDimension(type="ENERGY", volume=energy),
                        CdrDimension(type="TIME", volume=hours),
                    ],
                )
            )
        parking = Decimal(str((end - charging_end).total_seconds() / 3600)).quantize(HOURS, ROUND_HALF_UP)
        periods.append(
            ChargingPeriod(
                start_date_time=charging_end,
                dimensions=[
                    CdrDimension(type="PARKING_TIME", volume=parking),
                ],
            )
        )
        return periods

    def _cdr(self, session: RunningSession, charging_end: datetime, end: datetime) -> Cdr:
        periods = self._periods(session, charging_end, end)
        location, evse = session.location, session.evse
        return Cdr(
            country_code=session.cpo.country_code,
            party_id=session.cpo.party_id,
            id=str(uuid.uuid4()),
            start_date_time=session.started_at,
            end_date_time=end,
            session_id=session.id,
            cdr_token=self._token(session),
            auth_method=session.auth_method,
            authorization_reference=session.authorization_reference,
            cdr_location=CdrLocation(
                id=location.id,
                name=location.name,
                address=location.address,
                city=location.city,
                postal_code=location.postal_code,
                country=location.country_alpha3,
                coordinates=GeoLocation(latitude=location.latitude, longitude=location.longitude),
                evse_uid=evse.uid,
                evse_id=evse.evse_id,
                connector_id=evse.connector_id,
                connector_standard=evse.connector_standard,
                connector_format=evse.connector_format,
                connector_power_type=evse.power_type,
            ),
            currency=evse.tariff["currency"],
            tariffs=[evse.tariff],
            charging_periods=periods,
            total_cost=price_cdr(
                evse.tariff,
                periods,
                end=end,
                time_zone=location.time_zone,
                overcharge=session.token.uid.startswith("sim-overcharge"),
            ),
            total_energy=sum((d.volume for p in periods for d in p.dimensions if d.type == "ENERGY"), Decimal(0)),
            total_time=Decimal(str((end - session.started_at).total_seconds() / 3600)).quantize(HOURS, ROUND_HALF_UP),
            total_parking_time=sum(
                (d.volume for p in periods for d in p.dimensions if d.type == "PARKING_TIME"), Decimal(0)
            ),
            last_updated=end,
        )

    # --- transport ---------------------------------------------------------------------------------

    async def _push(self, cpo: SimCpo, method: str, target: str, body: OcpiModel) -> None:
        """Send like a CPO does, with its token C and routing headers: retry technical failures with backoff,
        log and drop client errors. ``target`` is a URL (a command's response_url), or a path under the
        eMSP's receiver of its module (``sessions/...``, ``cdrs``)."""
        correlation_id = str(uuid.uuid4())
        content = body.model_dump_json(exclude_none=True)
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._config.push_retry_for_s
        backoff_s = FIRST_BACKOFF_S
        attempt = 0
        while True:
            attempt += 1
            retry_after_s: float | None = None
            try:
                # Read each time: the CPO may have rotated its credentials meanwhile.
                connection = self._store.registered(cpo.party)
                url = target if "://" in target else self._receiver_url(connection, target)
                headers = routed_headers(cpo, connection, correlation_id)
                reply = await self._http.request(method, url, content=content, headers=headers)
                status = (
                    reply.json().get("status_code", 0)
                    if reply.headers.get("content-type", "").startswith("application/json")
                    else 0
                )
                if reply.status_code not in RETRIED_HTTP_STATUSES and reply.status_code < 500 and status < 3000:
                    if status != 1000:
                        log.warning(
                            "%s %s answered HTTP %s OCPI %s: %s",
                            method,
                            url,
                            reply.status_code,
                            status,
                            reply.text[:300],
                        )
                    return
                retry_after_s = _retry_after_s(reply)
                log.info("%s %s answered HTTP %s OCPI %s, attempt %d", method, url, reply.status_code, status, attempt)
            except (httpx.HTTPError, ValueError, NotConnected) as error:
                log.info("%s %s failed (%r), attempt %d", method, target, error, attempt)
            wait_s = min(backoff_s, self._config.push_backoff_max_s) if retry_after_s is None else retry_after_s
            if loop.time() + wait_s > give_up_at:
                log.error(
                    "%s %s given up after %d attempts in %.0f s",
                    method,
                    target,
                    attempt,
                    self._config.push_retry_for_s,
                )
                return
            await asyncio.sleep(wait_s)
            backoff_s *= 2

    @staticmethod
    def _receiver_url(connection: EmspConnection, path: str) -> str:
        module, _, rest = path.partition("/")
        return f"{connection.receiver(module)}/{rest}" if rest else connection.receiver(module)


RETRIED_HTTP_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class TapOutcome:
    """The eMSP's answer to a tap: its OCPI status, and when it decided, AllowedType; an ALLOWED one starts
    the session ``session_id``."""

    status_code: int
    message: str
    allowed: AllowedType | None
    session_id: str | None = None
    authorization_reference: str | None = None


class NoSuchCharger(Exception):
    """The tap names a CPO or EVSE the simulator does not have."""


class AuthorisationUnanswered(Exception):
    """The eMSP's Tokens module gave no OCPI answer (network error, not JSON)."""


def _evse_by_ref(cpo: SimCpo, evse_ref: str) -> tuple[SimLocation, SimEvse] | None:
    for location in cpo.locations:
        for evse in location.evses:
            if evse_ref in (evse.uid, evse.evse_id):
                return location, evse
    return None


def _retry_after_s(reply: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is not sent to CPOs by us, so not read)."""
    try:
        return max(float(reply.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return None
