"""The SQL store's part for tapbot's record of managers and the users delta's progress.

Compare-and-set happens in single statements, as in `bot.store.sql`: a record is inserted
against its primary key (version 0) or updated ``WHERE version = :read``; the delta lease is
taken by one ``UPDATE … WHERE lease is free, expired or ours``. So several processes on one
PostgreSQL database (or one SQLite file) agree on one winner.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.model import ManagerRecord, UsersDeltaState
from bot.store import values
from bot.store.engine import is_unique_violation, translated
from bot.store.tables import manager_records, users_delta

USERS_STREAM = "users"
# Ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits.
_IDS_PER_QUERY = 500


class ManagerRecordsSql:
    """Mixed into `bot.store.sql.SqlStore`, which sets the engines."""

    _engine: AsyncEngine
    _writer: AsyncEngine

    @translated
    async def manager_records(self, user_ids: Collection[str]) -> dict[str, ManagerRecord]:
        wanted = list(dict.fromkeys(user_ids))
        found: dict[str, ManagerRecord] = {}
        async with self._engine.connect() as connection:
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                batch = wanted[start : start + _IDS_PER_QUERY]
                query = select(manager_records).where(manager_records.c.user_id.in_(batch))
                for row in await connection.execute(query):
                    record = ManagerRecord(**row._asdict())
                    found[record.user_id] = record
        return found

    @translated
    async def save_manager_record(self, record: ManagerRecord) -> ManagerRecord | None:
        """Insert (version 0) or update the record still at ``record.version``; the stored
        record, one version higher, or None when another writer got there first."""
        record = values.manager_record(record)
        row = {
            "manager_id": record.manager_id,
            "previous_manager_id": record.previous_manager_id,
            "changed_at": record.changed_at,
            "first_seen": record.first_seen,
            "seen_at": record.seen_at,
            "version": record.version + 1,
        }
        if record.version == 0:
            statement: Any = (
                insert(manager_records)
                .values(user_id=record.user_id, **row)
                .returning(*manager_records.c)
            )
        else:
            statement = (
                update(manager_records)
                .where(
                    manager_records.c.user_id == record.user_id,
                    manager_records.c.version == record.version,
                )
                .values(row)
                .returning(*manager_records.c)
            )
        try:
            async with self._writer.begin() as connection:
                stored = (await connection.execute(statement)).one_or_none()
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return None
        return None if stored is None else ManagerRecord(**stored._asdict())

    @translated
    async def users_delta_state(self) -> UsersDeltaState:
        query = select(users_delta).where(users_delta.c.stream == USERS_STREAM)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        return UsersDeltaState() if row is None else _state(row)

    @translated
    async def claim_users_delta(
        self, owner: str, now: datetime, lease_until: datetime
    ) -> UsersDeltaState | None:
        """Take the lease when it is free, expired or already *owner*'s (one UPDATE decides)."""
        now, lease_until = values.utc(now), values.utc(lease_until)
        values.text(owner)
        upsert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        ensure_row = (
            upsert(users_delta)
            .values(stream=USERS_STREAM, full_round=True)
            .on_conflict_do_nothing(index_elements=[users_delta.c.stream])
        )
        take = (
            update(users_delta)
            .where(
                users_delta.c.stream == USERS_STREAM,
                or_(
                    users_delta.c.lease_owner.is_(None),
                    users_delta.c.lease_until.is_(None),
                    users_delta.c.lease_until <= now,
                    users_delta.c.lease_owner == owner,
                ),
            )
            .values(lease_owner=owner, lease_until=lease_until)
            .returning(*users_delta.c)
        )
        async with self._writer.begin() as connection:
            await connection.execute(ensure_row)
            row = (await connection.execute(take)).one_or_none()
        return None if row is None else _state(row)

    @translated
    async def save_users_delta(
        self, owner: str, state: UsersDeltaState, lease_until: datetime
    ) -> bool:
        state = values.users_delta_state(state)
        statement = (
            update(users_delta)
            .where(users_delta.c.stream == USERS_STREAM, users_delta.c.lease_owner == owner)
            .values(
                link=state.link,
                full_round=state.full_round,
                baseline_at=state.baseline_at,
                polled_at=state.polled_at,
                lease_until=values.utc(lease_until),
            )
        )
        async with self._writer.begin() as connection:
            result = await connection.execute(statement)
        return result.rowcount == 1

    @translated
    async def release_users_delta(self, owner: str) -> None:
        statement = (
            update(users_delta)
            .where(users_delta.c.stream == USERS_STREAM, users_delta.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )
        async with self._writer.begin() as connection:
            await connection.execute(statement)


def _state(row: Row[Any]) -> UsersDeltaState:
    return UsersDeltaState(
        link=row.link,
        full_round=row.full_round,
        baseline_at=row.baseline_at,
        polled_at=row.polled_at,
    )
