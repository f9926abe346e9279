"""Database URLs, engines and driver errors for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import closing
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.domain.errors import StoreError

# Execution option marking a connection that will write: on SQLite it begins IMMEDIATE, taking
# the write lock (waiting up to the busy timeout) before its first read, so a read-then-write
# transaction cannot fail with SQLITE_BUSY_SNAPSHOT when another writer got in first.
WRITE = "tapbot_write"
SQLITE_BUSY_TIMEOUT_MS = 10_000
POSTGRES_CONNECT_TIMEOUT_S = 10
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
P = ParamSpec("P")
T = TypeVar("T")


def database_url(url: str) -> URL:
    """Return *url* with the async driver tapbot uses; raise StoreError for anything else.

    ``sqlite:///path`` and ``postgresql://…`` (or ``postgres://…``) gain ``+aiosqlite`` and
    ``+asyncpg``. An SQLite URL must name a file: each pooled connection of an in-memory
    database would see its own empty database.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError("DATABASE_URL is not a database URL") from None
    name = parsed.get_backend_name()
    backend = "postgresql" if name == "postgres" else name
    if backend not in _DRIVERS:
        raise StoreError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    driver = parsed.drivername.partition("+")[2]
    if driver not in ("", _DRIVERS[backend].partition("+")[2]):
        raise StoreError(f"DATABASE_URL must use the {_DRIVERS[backend]} driver")
    parsed = parsed.set(drivername=_DRIVERS[backend])
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise StoreError("an SQLite DATABASE_URL must name a file")
    return parsed


def sqlite_file(url: URL) -> Path | None:
    """Return the file an SQLite *url* names, None for PostgreSQL."""
    if url.get_backend_name() != "sqlite" or url.database is None:
        return None
    return Path(url.database)


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """Return an engine for *url* (see `database_url`), tuned for its backend.

    SQLite gets a busy timeout, foreign keys and SQLAlchemy-controlled BEGIN, which makes its
    DDL transactional and honours the `WRITE` option; `migrate` sets WAL journaling, which the
    file keeps. PostgreSQL gets a connect timeout and liveness checks on checkout so a restarted
    server costs no request.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    connect_args = {"timeout": POSTGRES_CONNECT_TIMEOUT_S}
    return create_async_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **options)


def enable_wal(path: Path) -> None:
    """Switch the SQLite database at *path* to WAL journaling (kept in the file from then on).

    Blocking; run it in a thread. The switch needs the database to itself and SQLite reports
    "busy" at once, without waiting, when another connection is in the way, so it retries until
    the busy timeout has passed. Raises sqlite3.Error if it never gets through.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)) as database:
        while True:
            try:
                database.execute("PRAGMA journal_mode = WAL").fetchall()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
            else:
                return


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would skip BEGIN before SELECT and DDL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def describe(operation: str, exc: BaseException) -> str:
    """Say what failed in words safe to log: never the SQL parameters or the driver's text.

    The driver's text can quote values (PostgreSQL's DETAIL lines do), so only error class
    names and the engine's code (SQLSTATE, or SQLite's result code name) are kept.
    """
    words = f"store {operation} failed: {type(exc).__name__}"
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if orig is not exc:
        words += f" from {type(orig).__name__}"
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    return f"{words} [{code}]" if code else words


def is_unique_violation(exc: DBAPIError) -> bool:
    """Tell whether *exc* is a duplicate primary or unique key, on either engine."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return True
    name = getattr(orig, "sqlite_errorname", "")
    return name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE")


def translated(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn driver and connection errors raised by *method* into StoreError."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (SQLAlchemyError, OSError) as exc:
            error = StoreError(describe(method.__name__, exc))
        # Raised outside the handler so the driver's exception, whose text can quote SQL
        # parameters, is not chained to it.
        raise error

    return wrapper
