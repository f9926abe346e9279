"""Helpers shared by the store tests: the backend handle, fresh databases, sample values."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.domain.model import DeliveryMethod, RequestState, TapRequest
from bot.domain.ports import Store
from bot.store.engine import database_url
from bot.store.sql import SqlStore, create_store

POSTGRES_URL = os.environ.get(
    "TAPBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2025, 6, 9, 8, 0, tzinfo=UTC)


@dataclass
class Backend:
    """A store under test; *url* is None for the in-memory twin."""

    name: str
    store: Store
    url: str | None

    @asynccontextmanager
    async def another_instance(self) -> AsyncIterator[SqlStore]:
        """Open a second SqlStore on the same database, as a second bot instance would."""
        assert self.url is not None
        store = create_store(self.url)
        try:
            yield store
        finally:
            await store.close()


def request(request_id: str = "r1", **fields: Any) -> TapRequest:
    """Return a pending request created at T0 unless *fields* say otherwise."""
    values: dict[str, Any] = {
        "id": request_id,
        "requester_id": "manager-1",
        "requester_name": "Megan Bowen",
        "target_id": "joiner-1",
        "target_name": "Emma Brooks",
        "lifetime_minutes": 480,
        "is_usable_once": True,
        "start_at": None,
        "delivery": DeliveryMethod.CHAT_TO_REQUESTER,
        "justification": "first day",
        "state": RequestState.PENDING_APPROVAL,
        "created_at": T0,
        "updated_at": T0,
        "tenant_id": "tenant-1",
    }
    values.update(fields)
    return TapRequest(**values)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def dsn(url: str) -> str:
    """Return the asyncpg form of a PostgreSQL *url* (plain ``postgresql://``)."""
    return database_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def fresh_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty database of *kind* ("sqlite" or "postgres")."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'tapbot.db'}"
    url: str = request.getfixturevalue("postgres_run_url")
    connection = await asyncpg.connect(dsn(url), timeout=5)
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()
    return url
