"""The audit pages are index walks on both engines: no sort of the matching rows, whatever the
depth of the page, so an export of a year and the newest page cost the same per event."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.domain.audit_query import AuditCursor
from bot.store.engine import database_url
from tests.integration.store.support import T0, Backend, dsn, minutes

CURSOR = AuditCursor(T0 + minutes(5), 42)
EXPORT = {"after": CURSOR, "oldest_first": True, "until": T0 + minutes(60)}


@contextmanager
def _statements() -> Iterator[list[tuple[str, Any]]]:
    """Record every SQL statement (and its parameters) any engine runs meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def _plan(backend: Backend, **query: Any) -> str:
    with _statements() as seen:
        await backend.store.list_audit(**query)
    [(statement, parameters)] = [s for s in seen if "audit_events" in s[0]]
    assert backend.url is not None
    if backend.name == "sqlite":
        path = database_url(backend.url).database
        assert path is not None
        with sqlite3.connect(path) as database:
            rows = database.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
        return "\n".join(str(row[-1]) for row in rows)
    connection = await asyncpg.connect(dsn(backend.url), timeout=5)
    try:
        # The test table is empty, where scanning it all always looks cheapest; the question
        # is whether an index walk in the listing order exists for the planner to take.
        await connection.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        rows = await connection.fetch(f"EXPLAIN {statement}", *parameters)
    finally:
        await connection.close()
    return "\n".join(row[0] for row in rows)


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"after": CURSOR}, "ix_audit_events_at_id"),
        (EXPORT, "ix_audit_events_at_id"),
        ({"after": CURSOR, "target_id": "liam"}, "ix_audit_events_target_at_id"),
        ({"after": CURSOR, "actor_id": "olivia"}, "ix_audit_events_actor_at_id"),
        ({"outcome": "refused"}, "ix_audit_events_at_id"),
    ],
    ids=["newest", "oldest-first-export", "person", "actor", "outcome"],
)
async def test_each_page_walks_an_index_in_order(
    sql_backend: Backend, query: dict[str, Any], index: str
) -> None:
    plan = await _plan(sql_backend, limit=50, **query)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # SQLite sorting the rows itself
    assert "Sort" not in plan, plan  # PostgreSQL sorting the rows itself
