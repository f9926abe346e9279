"""Bringing a database to the newest schema, at start-up, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.domain.errors import StoreError
from bot.store.engine import WRITE, database_url, describe, enable_wal, make_engine, sqlite_file

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; instances of tapbot sharing a database just have to agree on it.
_MIGRATION_LOCK = 0x7461_7062_6F74


async def migrate(url: str) -> None:
    """Bring the database at *url* to the newest schema; a database already there is untouched.

    Idempotent, and safe when several instances start at once: the whole upgrade is one
    transaction holding the write lock (SQLite) or an advisory lock (PostgreSQL), so one
    instance migrates and the others then find nothing to do. Creates an SQLite file's folder
    and switches the file to WAL journaling.
    Raises StoreError when the database cannot be reached or the upgrade fails.
    """
    error = await _migrate(url)
    if error is not None:
        # Raised outside the handler, so the driver's exception (whose text can quote SQL
        # parameters) is not chained to it.
        raise error


async def _migrate(url: str) -> StoreError | None:
    path = sqlite_file(database_url(url))
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(enable_wal, path)
    except (OSError, sqlite3.Error) as exc:
        return StoreError(describe("migrate", exc))
    engine = make_engine(url)
    try:
        async with engine.execution_options(**{WRITE: True}).begin() as connection:
            await connection.run_sync(_upgrade)
    except (SQLAlchemyError, OSError) as exc:
        return StoreError(describe("migrate", exc))
    finally:
        await engine.dispose()
    return None


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
