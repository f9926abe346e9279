"""The joiner part of `SqlStore`: events claimed under a lease, daily sweep runs, and finding
stored conversations by key prefix.

Each method is one short write transaction whose deciding statement is a single INSERT or a
conditional UPDATE, so concurrent instances agree on one winner on SQLite (BEGIN IMMEDIATE)
and on PostgreSQL (the row lock an UPDATE takes, re-checking its WHERE clause).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.errors import StoreConflict
from bot.domain.joiners import (
    JoinerClaim,
    JoinerEvent,
    JoinerState,
    SweepRun,
    SweepState,
)
from bot.store import joiner_values
from bot.store.engine import translated
from bot.store.tables import joiner_events, joiner_sweeps
from bot.store.values import text, utc

_EVENT = joiner_events.c
_SWEEP = joiner_sweeps.c


class JoinerRows:
    """Mixed into `SqlStore`, which provides the engine (*_engine*) and its writer."""

    _engine: AsyncEngine
    _writer: AsyncEngine

    def _insert(self) -> Any:
        return postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert

    # Joiner events

    @translated
    async def claim_joiner(
        self,
        joiner_id: str,
        hire_day: date,
        owner: str,
        *,
        now: datetime,
        lease_until: datetime,
    ) -> JoinerClaim:
        joiner_id, hire_day = joiner_values.key(joiner_id, hire_day)
        now, lease_until, owner = utc(now), utc(lease_until), text(owner)
        new = {
            "joiner_id": joiner_id,
            "hire_day": hire_day,
            "state": JoinerState.CLAIMED.value,
            "owner": owner,
            "lease_until": lease_until,
            "attempts": 1,
            "version": 1,
            "details": {},
            "created_at": now,
            "updated_at": now,
        }
        insert = (
            self._insert()(joiner_events)
            .values(new)
            .on_conflict_do_nothing(index_elements=[_EVENT.joiner_id, _EVENT.hire_day])
            .returning(*joiner_events.c)
        )
        claimable = or_(
            _EVENT.state == JoinerState.OPEN.value,
            and_(_EVENT.state == JoinerState.CLAIMED.value, _EVENT.lease_until <= now),
            and_(_EVENT.state == JoinerState.SNOOZED.value, _EVENT.remind_at <= now),
        )
        take_over = (
            update(joiner_events)
            .where(_EVENT.joiner_id == joiner_id, _EVENT.hire_day == hire_day, claimable)
            .values(
                state=JoinerState.CLAIMED.value,
                owner=owner,
                lease_until=lease_until,
                attempts=_EVENT.attempts + 1,
                version=_EVENT.version + 1,
                updated_at=now,
            )
            .returning(*joiner_events.c)
        )
        async with self._writer.begin() as connection:
            row = (await connection.execute(insert)).one_or_none()
            if row is None:
                row = (await connection.execute(take_over)).one_or_none()
            if row is not None:
                return JoinerClaim(True, _event(row))
            current = (await connection.execute(self._select(joiner_id, hire_day))).one()
        return JoinerClaim(False, _event(current))

    @translated
    async def move_joiner(
        self,
        joiner_id: str,
        hire_day: date,
        *,
        expected: Iterable[JoinerState],
        new_state: JoinerState,
        at: datetime,
        owner: str | None = None,
        changes: Mapping[str, Any] | None = None,
    ) -> JoinerEvent:
        joiner_id, hire_day = joiner_values.key(joiner_id, hire_day)
        states = joiner_values.states(expected)
        columns = joiner_values.changes(changes or {})
        columns |= {
            "state": JoinerState(new_state).value,
            "updated_at": utc(at),
            "version": _EVENT.version + 1,
        }
        conditions = [
            _EVENT.joiner_id == joiner_id,
            _EVENT.hire_day == hire_day,
            _EVENT.state.in_(states),
        ]
        if owner is not None:
            conditions.append(_EVENT.owner == owner)
        statement = (
            update(joiner_events).where(*conditions).values(columns).returning(*joiner_events.c)
        )
        async with self._writer.begin() as connection:
            row = (await connection.execute(statement)).one_or_none()
            if row is not None:
                return _event(row)
            current = (await connection.execute(self._select(joiner_id, hire_day))).one_or_none()
        if current is None:
            raise StoreConflict(f"joiner event {joiner_id} {hire_day} does not exist")
        raise StoreConflict(
            f"joiner event {joiner_id} {hire_day} is {current.state} (owner {current.owner}), "
            f"not {' or '.join(states)}" + (f" of {owner}" if owner else "")
        )

    @translated
    async def get_joiner(self, joiner_id: str, hire_day: date) -> JoinerEvent | None:
        joiner_id, hire_day = joiner_values.key(joiner_id, hire_day)
        async with self._engine.connect() as connection:
            row = (await connection.execute(self._select(joiner_id, hire_day))).one_or_none()
        return None if row is None else _event(row)

    @staticmethod
    def _select(joiner_id: str, hire_day: date) -> Any:
        return select(joiner_events).where(
            _EVENT.joiner_id == joiner_id, _EVENT.hire_day == hire_day
        )

    # Daily sweeps

    @translated
    async def claim_sweep(
        self, day: date, owner: str, *, now: datetime, lease_until: datetime
    ) -> bool:
        day = joiner_values.day(day)
        now, lease_until, owner = utc(now), utc(lease_until), text(owner)
        running = {
            "state": SweepState.RUNNING.value,
            "owner": owner,
            "lease_until": lease_until,
            "started_at": now,
            "finished_at": None,
        }
        insert = (
            self._insert()(joiner_sweeps)
            .values(day=day, summary={}, **running)
            .on_conflict_do_nothing(index_elements=[_SWEEP.day])
            .returning(_SWEEP.day)
        )
        take_over = (
            update(joiner_sweeps)
            .where(
                _SWEEP.day == day,
                _SWEEP.state != SweepState.DONE.value,
                _SWEEP.lease_until <= now,
            )
            .values(running)
            .returning(_SWEEP.day)
        )
        async with self._writer.begin() as connection:
            if (await connection.execute(insert)).one_or_none() is not None:
                return True
            return (await connection.execute(take_over)).one_or_none() is not None

    @translated
    async def renew_sweep(self, day: date, owner: str, *, lease_until: datetime) -> bool:
        statement = (
            update(joiner_sweeps)
            .where(
                _SWEEP.day == joiner_values.day(day),
                _SWEEP.owner == owner,
                _SWEEP.state == SweepState.RUNNING.value,
            )
            .values(lease_until=utc(lease_until))
        )
        async with self._writer.begin() as connection:
            result = await connection.execute(statement)
        return result.rowcount == 1

    @translated
    async def finish_sweep(
        self,
        day: date,
        owner: str,
        *,
        state: SweepState,
        at: datetime,
        retry_at: datetime | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> bool:
        if SweepState(state) is SweepState.RUNNING:
            raise ValueError("a sweep finishes done or failed")
        statement = (
            update(joiner_sweeps)
            .where(
                _SWEEP.day == joiner_values.day(day),
                _SWEEP.owner == owner,
                _SWEEP.state == SweepState.RUNNING.value,
            )
            .values(
                state=SweepState(state).value,
                finished_at=utc(at),
                lease_until=utc(retry_at or at),
                summary=joiner_values.summary(summary or {}),
            )
        )
        async with self._writer.begin() as connection:
            result = await connection.execute(statement)
        return result.rowcount == 1

    @translated
    async def get_sweep(self, day: date) -> SweepRun | None:
        query = select(joiner_sweeps).where(_SWEEP.day == joiner_values.day(day))
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        if row is None:
            return None
        values = row._asdict()
        values["state"] = SweepState(values["state"])
        return SweepRun(**values)


def _event(row: Row[Any]) -> JoinerEvent:
    values = row._asdict()
    values["state"] = JoinerState(values["state"])
    return JoinerEvent(**values)
