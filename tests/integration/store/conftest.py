"""Store backends for the contract suite: the in-memory twin, SQLite in a temporary file, and
PostgreSQL in a database of this test run's own (created at the start, dropped at the end).

PostgreSQL comes from TAPBOT_TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432/test). When it
cannot be reached its tests are skipped, unless TAPBOT_REQUIRE_POSTGRES=1 (CI), which fails them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from bot.domain.ports import Store
from bot.store.engine import database_url
from bot.store.sql import create_store, migrate
from tests.integration.store.support import POSTGRES_URL, Backend, dsn, fresh_url
from tests.twins.store import MemoryStore

T = TypeVar("T")

MEMORY = pytest.param("memory", id="memory")
SQLITE = pytest.param("sqlite", id="sqlite")
POSTGRES = pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)


def _run_in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    # A loop of its own in another thread, so the per-test loops of pytest-asyncio are untouched.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(dsn(POSTGRES_URL), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_run_url() -> Iterator[str]:
    """Create a database for this test run, yield its URL, drop it at the end."""
    name = f"tapbot_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        _run_in_thread(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        shown = database_url(POSTGRES_URL).render_as_string(hide_password=True)
        reason = f"PostgreSQL not reachable at {shown}: {type(exc).__name__}: {exc}"
        if os.environ.get("TAPBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield database_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _run_in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def _sql_backend(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Backend]:
    url = await fresh_url(kind, request, tmp_path)
    await migrate(url)
    store = create_store(url)
    try:
        yield Backend(kind, store, url)
    finally:
        await store.close()


@pytest.fixture(params=[MEMORY, SQLITE, POSTGRES])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield Backend("memory", MemoryStore(), None)
        return
    async with _sql_backend(request.param, request, tmp_path) as opened:
        yield opened


@pytest.fixture(params=[SQLITE, POSTGRES])
async def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with _sql_backend(request.param, request, tmp_path) as opened:
        yield opened


@pytest.fixture(params=[SQLITE, POSTGRES])
async def empty_sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an SQL database without tables."""
    return await fresh_url(request.param, request, tmp_path)


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store
