"""What only the SQL store has: database-enforced audit, several instances on one database,
migrations, URLs, and driver errors turned into safe StoreErrors."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from bot.domain.errors import StoreConflict, StoreError
from bot.domain.model import AuditEvent, RequestState, TapRequest
from bot.store.engine import database_url, make_engine
from bot.store.migrator import MIGRATIONS
from bot.store.sql import create_store, migrate
from bot.store.tables import metadata
from tests.integration.store.support import T0, Backend, fresh_url, request


async def _execute(url: str, sql: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


async def _scalar(url: str, sql: str) -> object:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text(sql))
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_events SET outcome = 'forged'", "DELETE FROM audit_events"],
    ids=["update", "delete"],
)
async def test_database_refuses_to_change_audit_rows(sql_backend: Backend, sql: str) -> None:
    assert sql_backend.url is not None
    event = AuditEvent(at=T0, action="tap.issued", outcome="ok", actor_id="m1")
    stored = await sql_backend.store.append_audit(event)

    with pytest.raises(DBAPIError, match="append-only"):
        await _execute(sql_backend.url, sql)

    assert await sql_backend.store.list_audit() == [stored]


@pytest.mark.postgres
async def test_postgres_refuses_to_truncate_audit(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = await fresh_url("postgres", request, tmp_path)
    await migrate(url)
    with pytest.raises(DBAPIError, match="append-only"):
        await _execute(url, "TRUNCATE audit_events")


async def test_one_claim_wins_across_two_instances(sql_backend: Backend) -> None:
    async with sql_backend.another_instance() as other:
        claims = [
            store.claim("joiners", "2025-06-09", f"{name}-{i}", T0)
            for i in range(10)
            for name, store in (("a", sql_backend.store), ("b", other))
        ]
        assert (await asyncio.gather(*claims)).count(True) == 1


async def test_one_transition_wins_across_two_instances(sql_backend: Backend) -> None:
    await sql_backend.store.add_request(request())
    async with sql_backend.another_instance() as other:
        moves = [
            store.transition(
                "r1",
                expected=[RequestState.PENDING_APPROVAL],
                new_state=RequestState.APPROVED,
                at=T0,
                changes={"reason": f"{name}-{i}"},
            )
            for i in range(10)
            for name, store in (("a", sql_backend.store), ("b", other))
        ]
        results = await asyncio.gather(*moves, return_exceptions=True)
        winners = [r for r in results if isinstance(r, TapRequest)]
        assert len(winners) == 1
        assert sum(isinstance(r, StoreConflict) for r in results) == 19
        assert await other.get_request("r1") == winners[0]


async def test_migrating_twice_keeps_data(sql_backend: Backend) -> None:
    assert sql_backend.url is not None
    await sql_backend.store.add_request(request())

    await migrate(sql_backend.url)

    assert await sql_backend.store.get_request("r1") == request()
    newest = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert await _scalar(sql_backend.url, "SELECT version_num FROM alembic_version") == newest


async def test_concurrent_first_migrations_agree(empty_sql_url: str) -> None:
    await asyncio.gather(*(migrate(empty_sql_url) for _ in range(3)))
    assert await _scalar(empty_sql_url, "SELECT count(*) FROM alembic_version") == 1


def _schema_drift(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _downgrade_to_base(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def test_migrations_build_exactly_the_tables_module(sql_backend: Backend) -> None:
    assert sql_backend.url is not None
    engine = make_engine(sql_backend.url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_drift) == []
    finally:
        await engine.dispose()


async def test_downgrade_then_upgrade_round_trips(sql_backend: Backend) -> None:
    assert sql_backend.url is not None
    engine = make_engine(sql_backend.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
    finally:
        await engine.dispose()
    with pytest.raises(StoreError):
        await sql_backend.store.get_request("r1")

    await migrate(sql_backend.url)

    assert await sql_backend.store.get_request("r1") is None


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    await migrate(url)
    assert await _scalar(url, "PRAGMA journal_mode") == "wal"
    assert await _scalar(url, "PRAGMA foreign_keys") == 1
    assert await _scalar(url, "PRAGMA busy_timeout") == 10_000


async def test_migrate_creates_the_sqlite_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'nested' / 'tapbot.db'}"
    await migrate(url)
    assert (tmp_path / "var" / "nested" / "tapbot.db").is_file()


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///var/tapbot.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///var/tapbot.db", "sqlite+aiosqlite"),
        ("postgresql://u:p@db:5432/tapbot", "postgresql+asyncpg"),
        ("postgres://u:p@db/tapbot", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/tapbot", "postgresql+asyncpg"),
    ],
)
def test_urls_are_normalised_to_the_async_drivers(given: str, driver: str) -> None:
    assert database_url(given).drivername == driver


@pytest.mark.parametrize(
    "given",
    [
        "mysql://u@db/tapbot",
        "postgresql+psycopg://u@db/tapbot",
        "sqlite://",
        "sqlite:///:memory:",
        "not a url",
    ],
)
def test_other_urls_are_refused(given: str) -> None:
    with pytest.raises(StoreError):
        create_store(given)


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:1/test", "sqlite:///{file}/below-a-file.db"],
    ids=["postgres-closed-port", "sqlite-unopenable"],
)
async def test_ping_on_a_dead_database_raises_store_error(tmp_path: Path, url: str) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    store = create_store(url.format(file=a_file))
    try:
        with pytest.raises(StoreError, match="ping failed"):
            await store.ping()
        with pytest.raises(StoreError, match="migrate failed"):
            await migrate(url.format(file=a_file))
    finally:
        await store.close()
        await _worker_threads_stopped()


async def _worker_threads_stopped() -> None:
    # aiosqlite stops the thread of a failed connect with a future on this loop that nobody
    # awaits; let those threads finish before the loop closes, or they report to a closed loop.
    for _ in range(500):
        workers = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
        if not workers:
            return
        await asyncio.sleep(0.01)


async def test_driver_errors_carry_no_sql_parameters(empty_sql_url: str) -> None:
    store = create_store(empty_sql_url)  # not migrated: every statement fails
    try:
        with pytest.raises(StoreError) as caught:
            await store.add_request(request(justification="marker-4711"))
    finally:
        await store.close()

    error = caught.value
    assert type(error) is StoreError
    assert "marker-4711" not in str(error)
    assert "add_request failed" in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


async def test_sqlite_keeps_times_as_utc_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    await migrate(url)
    store = create_store(url)
    try:
        await store.add_request(request(created_at=T0.astimezone(timezone(timedelta(hours=-7)))))
    finally:
        await store.close()
    assert await _scalar(url, "SELECT created_at FROM tap_requests") == "2025-06-09 08:00:00.000000"
