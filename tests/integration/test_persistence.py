"""The schema on both databases: migrations apply, CDRs and received messages are immutable."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

from cli.seed import PARTNERS, seed_database
from persistence import repositories as repo
from persistence.db import make_engine
from persistence.tables import CdrRow, CpoRow, DemandPartnerRow, OcpiInboxRow, OcpiSessionRow, SessionRow
from tests.integration.locks import wait_until_a_transaction_waits_for_a_lock
from tests.registered_cpos import TEST_CPO, registered_cpo

WRITES_EACH = 300  # transactions per writer in the two-engine test

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(writes: sessionmaker[Session]) -> sessionmaker[Session]:
    seed_database(writes)
    seed_database(writes)  # idempotent
    registered_cpo(writes)
    registered_cpo(writes)  # idempotent
    return writes


def _session_row(key: str | None = None) -> SessionRow:
    return SessionRow(
        id=str(uuid.uuid4()),
        demand_partner_id=PARTNERS[0].id,
        idempotency_key=key,
        request_fingerprint="f",
        evse_id="DE*STN*E3001",
        driver_reference="d",
        stage="STARTING",
        needs_attention=False,
        kwh=Decimal(0),
        created_at=NOW,
        updated_at=NOW,
    )


def _session(db: Session, key: str | None = None) -> SessionRow:
    row = _session_row(key)
    db.add(row)
    db.flush()
    return row


def _cdr(session_id: str) -> CdrRow:
    return CdrRow(
        country_code="DE",
        party_id="STN",
        cdr_id=str(uuid.uuid4()),
        our_session_id=session_id,
        currency="EUR",
        total_energy_kwh=Decimal("12.3456"),
        body_sha256="0" * 64,
        body="{}",
        received_at=NOW,
    )


def _commit(writes: sessionmaker[Session], statement: Executable) -> None:
    with writes.begin() as db:
        db.execute(statement)


def test_seeding_twice_leaves_one_network(seeded: sessionmaker[Session]) -> None:
    with seeded() as db:
        assert db.scalars(select(CpoRow.id).where(CpoRow.id == TEST_CPO.id)).all() == [TEST_CPO.id]
        seeded_ids = db.scalars(select(DemandPartnerRow.id).where(DemandPartnerRow.id.in_([p.id for p in PARTNERS])))
        assert sorted(seeded_ids) == sorted(p.id for p in PARTNERS)  # other tests add partners of their own
        charger = repo.charger_by_evse_id(db, "DE*TST*E0001")
        assert charger is not None
        # An EVSE id is an OCPI CiString: any spelling finds it (a CPO may store it lower-cased).
        same = repo.charger_by_evse_id(db, "de*tst*e0001")
        assert same is not None
        assert same.evse.key == charger.evse.key
        assert charger.location.time_zone == "Europe/Berlin"
        assert charger.cpo.payout_currency == "EUR"


def test_a_stored_cdr_can_be_neither_changed_nor_deleted(seeded: sessionmaker[Session]) -> None:
    with seeded.begin() as db:
        session = _session(db)
        db.add(_cdr(session.id))
    with pytest.raises(DatabaseError, match="immutable"):
        _commit(seeded, update(CdrRow).where(CdrRow.our_session_id == session.id).values(currency="CHF"))
    with pytest.raises(DatabaseError, match="immutable"):
        _commit(seeded, delete(CdrRow).where(CdrRow.our_session_id == session.id))
    with seeded() as db:
        kept = repo.cdrs_for_session(db, session.id)
        assert [c.currency for c in kept] == ["EUR"]
        assert kept[0].total_energy_kwh == Decimal("12.3456")


def test_the_inbox_is_append_only(seeded: sessionmaker[Session]) -> None:
    with seeded.begin() as db:
        db.add(
            OcpiInboxRow(
                received_at=NOW,
                cpo_id=TEST_CPO.id,
                kind="CDR",
                object_id="x",
                our_session_id=None,
                outcome="UNKNOWN_SESSION",
                status_code=2001,
                message="m",
                body="{}",
            )
        )
    with pytest.raises(DatabaseError, match="immutable"):
        _commit(seeded, delete(OcpiInboxRow))


def test_one_idempotency_key_makes_one_session(seeded: sessionmaker[Session]) -> None:
    with seeded.begin() as db:
        _session(db, key="same-key")
    with seeded() as db:
        db.add(_session_row("same-key"))
        with pytest.raises(IntegrityError):
            db.commit()


def test_a_stage_never_moves_back(seeded: sessionmaker[Session]) -> None:
    from domain.sessions.lifecycle import SessionStage

    # Rolled back at the end: a SETTLED session with no books would fail the other tests' ledger checks
    # (the database is shared).
    with seeded() as db:
        session = _session(db)
        assert repo.move_session_stage(db, session.id, SessionStage.AWAITING_CDR, now=NOW)
        assert not repo.move_session_stage(db, session.id, SessionStage.CHARGING, now=NOW)
        assert repo.move_session_stage(db, session.id, SessionStage.CDR_RECEIVED, now=NOW)
        assert repo.move_session_stage(db, session.id, SessionStage.CLEARED, now=NOW)
        assert not repo.move_session_stage(db, session.id, SessionStage.REJECTED, now=NOW, needs_attention=True)
        assert repo.move_session_stage(db, session.id, SessionStage.SETTLED, now=NOW)
        assert not repo.move_session_stage(db, session.id, SessionStage.CLEARED, now=NOW)
        db.flush()
        db.expire_all()
        row = db.get_one(SessionRow, session.id)
        assert row.stage == "SETTLED"
        assert row.needs_attention is True
        db.rollback()


def test_a_late_record_of_a_stage_the_session_has_passed_changes_nothing(seeded: sessionmaker[Session]) -> None:
    """The CDR-overdue record's first attempt, timed out while it waited and retried, commits after the
    settlement stopped: the stop stays as it was, listed for ``settlement retry`` under its own ErrorType."""
    from activities.sessions import write_stage
    from domain.sessions.lifecycle import SessionStage
    from messages.sessions import StageOutcome

    def as_it_is(db: Session, session_id: str) -> tuple[str, bool, str | None, str | None]:
        db.flush()
        db.expire_all()
        row = db.get_one(SessionRow, session_id)
        return row.stage, row.needs_attention, row.error_type, row.reason

    stopped = "settlement stopped (FxRateMissing): no EUR/QAR reference rate on or before 2026-06-01"
    late = "CDR overdue: none within 3 s of the session's end"
    with seeded() as db:
        session_id = _session(db).id
        overdue = StageOutcome(
            session_id=session_id,
            stage=SessionStage.AWAITING_CDR,
            reason=late,
            needs_attention=True,
            error_type="CdrOverdue",
        )
        parked = StageOutcome(
            session_id=session_id,
            stage=SessionStage.CLEARED,
            reason=stopped,
            needs_attention=True,
            error_type="FxRateMissing",
        )
        write_stage(db, overdue)
        assert as_it_is(db, session_id) == ("AWAITING_CDR", True, "CdrOverdue", late)
        write_stage(db, parked)
        write_stage(db, overdue)  # late
        assert as_it_is(db, session_id) == ("CLEARED", True, "FxRateMissing", stopped)
        write_stage(db, parked)  # the same record again (a retry): as it was
        assert as_it_is(db, session_id) == ("CLEARED", True, "FxRateMissing", stopped)

        write_stage(db, StageOutcome(session_id=session_id, stage=SessionStage.SETTLED))
        write_stage(db, parked)  # late, after the retry settled it
        write_stage(db, overdue)
        assert as_it_is(db, session_id) == ("SETTLED", False, None, None)
        db.rollback()  # a SETTLED session with no books would fail the other tests' ledger checks


def test_a_forwarded_status_is_recorded_only_when_it_is_news(seeded: sessionmaker[Session]) -> None:
    from domain.sessions.lifecycle import CpoSessionStatus as Status

    with seeded() as db:
        session = _session(db)
        cpo_session_id = f"cpo-{session.id[:30]}"
        stored = OcpiSessionRow(
            country_code="DE",
            party_id="STN",
            session_id=cpo_session_id,
            our_session_id=session.id,
            status="ACTIVE",
            forwarded_status=None,
            last_updated=NOW,
            body={},
        )
        db.add(stored)
        db.flush()

        def forwarded_after(status: Status) -> str | None:
            # The CPO's ids in another case: they are matched case-insensitively, as the CPO's messages are.
            repo.record_forwarded_status(db, "de", "stn", cpo_session_id.upper(), status)
            db.expire(stored)
            return stored.forwarded_status

        assert forwarded_after(Status.ACTIVE) == "ACTIVE"
        assert forwarded_after(Status.PENDING) == "ACTIVE"  # older: no news
        assert forwarded_after(Status.COMPLETED) == "COMPLETED"
        assert forwarded_after(Status.ACTIVE) == "COMPLETED"
        assert forwarded_after(Status.INVALID) == "COMPLETED"  # nothing comes after the end
        db.rollback()


def test_a_stage_is_moved_from_what_the_row_says_once_locked_not_from_an_earlier_read(
    seeded: sessionmaker[Session], engine: Engine
) -> None:
    """A transaction that read the session before another settled it (a late Session report, on PostgreSQL's
    read committed) must not move it back once it holds the lock: the locked read is the one decided on."""
    from domain.sessions.lifecycle import SessionStage

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: nothing commits between a read and the lock")
    with seeded.begin() as db:
        session = _session(db)
        session.stage = SessionStage.CHARGING.value
        session_id = session.id
    with seeded() as late:
        held = late.get_one(SessionRow, session_id)  # read before the lock, and held (as an intake holds it)
        assert held.stage == "CHARGING"
        with seeded.begin() as settling:
            settling.get_one(SessionRow, session_id).stage = SessionStage.SETTLED.value
        assert not repo.move_session_stage(late, session_id, SessionStage.AWAITING_CDR, now=NOW)
        assert held.stage == "SETTLED"
        late.commit()
    with seeded() as db:
        assert db.get_one(SessionRow, session_id).stage == "SETTLED"
        db.delete(db.get_one(SessionRow, session_id))  # no settled session without books: the database is shared
        db.commit()


def test_the_cpos_progress_reaches_a_loaded_session_and_stops_at_its_cdr(seeded: sessionmaker[Session]) -> None:
    later = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)

    def report(db: Session, session_id: str, kwh: str, status: str = "ACTIVE") -> None:
        repo.update_cpo_progress(
            db,
            session_id,
            cpo_session_id="c-1",
            cpo_status=status,
            kwh=Decimal(kwh),
            started_at=NOW,
            ended_at=None,
            now=later,
        )

    with seeded() as db:  # rolled back: the database is shared
        session = _session(db)
        session.driver_reference = "changed before the report"  # pending: flushed first, not lost
        report(db, session.id, "3.25")
        # The row this unit of work holds shows the report (it is not left stale).
        assert (session.cpo_status, session.kwh, session.started_at, session.ended_at) == (
            "ACTIVE",
            Decimal("3.25"),
            NOW,
            None,
        )
        assert session.driver_reference == "changed before the report"
        db.add(_cdr(session.id))  # pending: the report's update sees it all the same
        report(db, session.id, "1.00", status="COMPLETED")
        # The CDR's figures are the session's: the status moves on, the energy and times do not go back.
        assert (session.cpo_status, session.kwh, session.started_at) == ("COMPLETED", Decimal("3.25"), NOW)
        db.expire_all()
        assert db.get_one(SessionRow, session.id).driver_reference == "changed before the report"
        db.rollback()


def test_a_session_report_waiting_on_the_cdrs_transaction_keeps_the_cdrs_energy(
    seeded: sessionmaker[Session], engine: Engine
) -> None:
    """A Session report that had to wait for the CDR's transaction still sees the CDR once it goes on. On
    PostgreSQL an UPDATE that waits for a row lock re-reads the row but not its statement's other reads: the
    report's update, begun before the CDR committed, wrote the reported energy over the CDR's."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: nothing waits inside a statement")
    with seeded.begin() as db:
        session_id = _session(db).id
    reported = threading.Thread(target=_report_progress, args=(seeded, session_id, Decimal("2.9571")))
    with seeded() as cdr_transaction:
        cdr = _cdr(session_id)
        cdr_transaction.add(cdr)
        cdr_transaction.get_one(SessionRow, session_id).kwh = cdr.total_energy_kwh
        cdr_transaction.flush()  # holds the session's row
        reported.start()
        wait_until_a_transaction_waits_for_a_lock(engine, "the Session report never waited for the CDR's transaction")
        cdr_transaction.commit()
    reported.join(timeout=10)
    assert not reported.is_alive()
    with seeded() as db:
        row = db.get_one(SessionRow, session_id)
        assert (row.kwh, row.cpo_status) == (Decimal("12.3456"), "COMPLETED")


def _report_progress(writes: sessionmaker[Session], session_id: str, kwh: Decimal) -> None:
    with writes.begin() as db:
        repo.update_cpo_progress(
            db,
            session_id,
            cpo_session_id="c-1",
            cpo_status="COMPLETED",
            kwh=kwh,
            started_at=NOW,
            ended_at=NOW,
            now=NOW,
        )


def test_two_transactions_one_after_the_other_on_one_sqlite_connection(tmp_path: Path) -> None:
    """The process's SQLite write lock is handed over when a transaction ends, not only when its connection
    goes back to the pool: a second transaction on the same connection used to wait for itself forever."""
    engine = make_engine(f"sqlite:///{tmp_path / 'two.db'}")
    finished = threading.Event()

    def two_transactions() -> None:
        with engine.connect() as connection:
            with connection.begin():
                connection.execute(text("CREATE TABLE t (x INTEGER)"))
            with connection.begin():
                connection.execute(text("INSERT INTO t VALUES (1)"))
        finished.set()

    threading.Thread(target=two_transactions, daemon=True).start()
    assert finished.wait(10), "the second transaction waited for the first one's lock"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT x FROM t")).scalars().all() == [1]
    engine.dispose()


def test_writers_of_two_processes_take_turns_on_the_writer_lock_not_in_sqlites_busy_handler(tmp_path: Path) -> None:
    """Two engines on one file, as the API's and a worker's, writing as fast as they can. Their SQLite busy
    timeout is 0 here: a writer that reached ``BEGIN IMMEDIATE`` while the other's transaction was still
    open (before the shared lock; or let in before the other's COMMIT had run) would fail at once."""
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    engines = [make_engine(url), make_engine(url)]

    def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    for engine in engines:
        event.listen(engine, "connect", no_busy_wait)
    with engines[0].begin() as connection:
        connection.execute(text("CREATE TABLE t (writer INTEGER)"))
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for _ in range(WRITES_EACH):
                with engines[writer].begin() as connection:
                    connection.execute(text("INSERT INTO t VALUES (:writer)"), {"writer": writer})
        except BaseException as error:
            failures.append(error)

    writers = [threading.Thread(target=write, args=(writer,)) for writer in (0, 1)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    assert failures == []
    with engines[0].connect() as connection:
        counts = connection.execute(text("SELECT writer, count(*) FROM t GROUP BY writer ORDER BY writer")).all()
    assert [tuple(row) for row in counts] == [(0, WRITES_EACH), (1, WRITES_EACH)]
    assert (tmp_path / "turns.db-writer.lock").exists()
    for engine in engines:
        engine.dispose()
