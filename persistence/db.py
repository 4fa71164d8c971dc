"""Engines and sessions. Takes a URL, never Settings."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, TypeAlias

import psycopg
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

# WAL lets the API and the worker read while one of them writes; NORMAL is durable across app crashes.
READ_ONLY = "networkcore_read_only"

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def backend_name(url: str) -> str:
    """``postgresql`` or ``sqlite``: the database a URL names, whichever way it is written."""
    return make_url(normalise_url(url)).get_backend_name()


def libpq_url(url: str) -> str:
    """A PostgreSQL URL as libpq (``psycopg.connect``) reads it: without SQLAlchemy's driver in the scheme."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url_named(url: str, database: str) -> str:
    """The URL of another database on the same server, written as ``url`` is."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def database_identity(url: str, key: str) -> str:
    """A short digest naming the database ``url`` reaches (a SQLite file by its absolute path, a server's database
    by host, port, name and user), keyed with ``key`` (the OCPI token key every process serving that database
    holds), so that two processes can tell whether they share one while no one without the key can guess
    the name back from the digest."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        file = parsed.database
        named = str(Path(file).resolve()) if file and file != ":memory:" else ":memory:"
    else:
        named = f"{parsed.get_backend_name()}://{parsed.username}@{parsed.host}:{parsed.port or 5432}/{parsed.database}"
    return hmac.new(key.encode(), named.encode(), hashlib.sha256).hexdigest()[:16]


class WriterLock:
    """SQLite's one writer, taken in turn: by the threads of this process on a lock, and across processes
    (the API, the workers) on an advisory lock of a file beside the database. Both hand over the moment the
    holder lets go; SQLite's own busy handler, which writers of other processes met at ``BEGIN IMMEDIATE``
    before, sleeps up to 100 ms between tries while the database is locked, so a writer could wait long after
    the lock was free. ``BEGIN IMMEDIATE`` still guards the database itself against any other writer."""

    def __init__(self, database: Path | None) -> None:
        self._threads = threading.Lock()
        self._file: int | None = None
        if database is not None:
            self._file = os.open(database.with_name(database.name + "-writer.lock"), os.O_RDWR | os.O_CREAT, 0o600)
            weakref.finalize(self, os.close, self._file)

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def _writer_connection_class(writer: WriterLock) -> type[sqlite3.Connection]:
    class WriterConnection(sqlite3.Connection):
        """A connection that lets the writer go once SQLite has ended its transaction, so that a second
        transaction on it takes the writer again instead of waiting for itself. (SQLAlchemy's commit and
        rollback events fire before the COMMIT or ROLLBACK runs: a writer let in then still met the lock.)"""

        holds_writer = False

        def take_writer(self) -> None:
            writer.acquire()
            self.holds_writer = True

        def let_writer_go(self) -> None:
            if self.holds_writer:
                self.holds_writer = False
                writer.release()

        def commit(self) -> None:
            super().commit()
            self.let_writer_go()  # a COMMIT that failed left the transaction open: its ROLLBACK lets go

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.let_writer_go()

    return WriterConnection


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer at a time: writers queue on a lock with an instant hand-over.
        writer = WriterLock(database)
        engine = create_engine(url, connect_args={"timeout": 10, "factory": _writer_connection_class(writer)}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (BEGIN IMMEDIATE below).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            # Writers take the write lock up front (no deadlock-prone read-then-upgrade between
            # processes); read-only sessions (``make_read_session_factory``) don't block anyone.
            if connection.get_execution_options().get(READ_ONLY, False):
                connection.exec_driver_sql("BEGIN")
                return
            dbapi_connection = connection.connection.dbapi_connection
            dbapi_connection.take_writer()
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_connection.let_writer_go()
                raise

        # Back in the pool covers any path that ended neither way.
        @event.listens_for(engine, "checkin")
        def _checkin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.let_writer_go()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite they don't take the write lock."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


# What the doors hold and pass to services without naming SQLAlchemy: a unit of work is one ``Session``.
UnitOfWork: TypeAlias = Session
SessionFactory: TypeAlias = sessionmaker[Session]


@dataclass(frozen=True, slots=True)
class Database:
    """One engine and its two session factories: every process sets its database up through this."""

    engine: Engine
    writes: SessionFactory
    reads: SessionFactory  # read-only: never takes SQLite's write lock

    @classmethod
    def open(cls, url: str) -> Database:
        engine = make_engine(url)
        return cls(engine, make_session_factory(engine), make_read_session_factory(engine))

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def open_database(url: str) -> Iterator[Database]:
    """The database for the duration of a command; its connections are closed afterwards."""
    database = Database.open(url)
    try:
        yield database
    finally:
        database.dispose()


def dialect_insert(db: Session, table: type[Any]) -> Any:
    """The session's dialect's INSERT, which speaks ON CONFLICT DO NOTHING and RETURNING on both."""
    return insert_in(dialect_of(db), table)


def dialect_of(db: Session) -> str:
    """``postgresql`` or ``sqlite``: the database the unit of work runs on."""
    name: str = db.get_bind().dialect.name
    return name


def insert_in(dialect: str, table: type[Any]) -> Any:
    """``dialect_insert`` for a statement built once per dialect."""
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


def execute_built(db: Session, statement: Executable, parameters: dict[str, Any]) -> CursorResult[Any]:
    """Run a statement built once (a module's constant with bound parameters) on the unit of work's
    connection, after flushing what the unit of work holds, as ``Session.execute`` would. On a hot path
    the ORM's own execution of an INSERT or UPDATE (keying the statement again, matching it against the
    objects held) cost several times the statement: a row of the table already loaded is the caller's to
    expire."""
    db.flush()
    return db.connection().execute(statement, parameters)


def is_postgresql(db: Session) -> bool:
    return dialect_of(db) == "postgresql"


def _driver_connection(db: Session) -> psycopg.Connection[Any]:
    driver = db.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _copy(driver: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with driver.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def copy_rows(db: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: COPY ``rows`` into ``table`` on the session's own connection and transaction (the
    fastest way in, same commit; no per-row statement, no query to parse)."""
    _copy(_driver_connection(db), table, columns, rows)


def _copied(value: Any) -> Any:
    """A row value as COPY takes it: dict values are JSON columns."""
    return json.dumps(value) if isinstance(value, dict) else value


def draw_keys(db: Session, table: str, count: int) -> list[int]:
    """PostgreSQL: ``count`` keys drawn from ``table``'s key sequence, in one round trip, ascending (rows keyed
    in order keep their order by key). One array, not ``count`` rows: no Python object per row to read."""
    if not count:
        return []
    keys = db.scalar(
        text(
            f"SELECT array_agg(key ORDER BY key) FROM (SELECT nextval(pg_get_serial_sequence('{table}', 'key')) AS key"
            " FROM generate_series(1, :count)) AS drawn"
        ),
        {"count": count},
    )
    return list(keys)


def _copy_keyed(
    driver: psycopg.Connection[Any], table: str, keys: Sequence[int], rows: Iterable[dict[str, Any]]
) -> None:
    """COPY ``rows`` (dicts of one shape, as many as ``keys``) with ``keys``; the first row names the columns."""
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        return
    _copy(
        driver,
        table,
        ("key", *first),
        ([key, *map(_copied, row.values())] for key, row in zip(keys, chain([first], remaining), strict=True)),
    )


def copy_keyed_rows(db: Session, table: str, rows: Sequence[dict[str, Any]]) -> list[int]:
    """PostgreSQL: COPY ``rows`` (dicts of one shape) into ``table`` with keys drawn from its key sequence
    first, in one round trip; the keys, in the rows' order."""
    keys = draw_keys(db, table, len(rows))
    _copy_keyed(_driver_connection(db), table, keys, rows)
    return keys


@contextmanager
def copying_keyed_rows(db: Session, table: str, keys: Sequence[int], rows: Iterable[dict[str, Any]]) -> Iterator[None]:
    """PostgreSQL: COPY ``rows`` (dicts of one shape, made as they are copied) into ``table`` with ``keys``
    (from ``draw_keys``) on a thread of its own while the block runs, so that the database takes them in
    while Python does work that needs no database. Meanwhile the COPY has the session's connection: psycopg
    holds any statement of the block until it ends. The block ends once the COPY has, raising its error."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        copied = thread.submit(_copy_keyed, _driver_connection(db), table, keys, rows)
        yield
    copied.result()


def insert_new(
    db: Session, table: type[Any], rows: Sequence[dict[str, Any]], *, unique: str, returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """INSERT the rows whose ``unique`` column is new (ON CONFLICT DO NOTHING), returning ``returning`` of
    each row inserted (in no particular order). On PostgreSQL the rows are COPYed into a temporary
    staging table and moved by one INSERT ... SELECT: thousands of rows without a multi-row statement to
    send and parse per thousand. Dict values are JSON columns."""
    if not rows:
        return []
    columns = list(rows[0])
    if not is_postgresql(db):
        statement = (
            dialect_insert(db, table)
            .on_conflict_do_nothing(index_elements=[unique])
            .returning(*(getattr(table, c) for c in returning), sort_by_parameter_order=True)
        )
        return [tuple(r) for r in db.execute(statement, list(rows))]
    name, staging, listed = table.__tablename__, f"{table.__tablename__}_staging", ", ".join(columns)
    db.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS "
            f"AS SELECT {listed} FROM {name} WITH NO DATA"
        )
    )
    copy_rows(db, staging, columns, ([_copied(v) for v in r.values()] for r in rows))
    inserted = db.execute(
        text(
            f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {staging} "
            f"ON CONFLICT ({unique}) DO NOTHING RETURNING {', '.join(returning)}"
        )
    ).all()
    db.execute(text(f"TRUNCATE {staging}"))
    return [tuple(r) for r in inserted]
