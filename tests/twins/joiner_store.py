"""The joiner part of `MemoryStore` (events under a lease, daily sweeps, conversations by
prefix), with the same rules and input checks as `bot.store.joiner_rows`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from bot.domain.errors import StoreConflict
from bot.domain.joiners import JoinerClaim, JoinerEvent, JoinerState, SweepRun, SweepState
from bot.domain.model import ConversationRecord
from bot.store import joiner_values
from bot.store.values import json_copy, text, utc


class MemoryJoinerRows:
    """Mixed into `MemoryStore`, which provides `_io` and `_conversations`."""

    _conversations: dict[str, ConversationRecord]

    def __init__(self) -> None:
        self._joiners: dict[tuple[str, date], JoinerEvent] = {}
        self._sweeps: dict[date, SweepRun] = {}

    async def _io(self) -> None:
        raise NotImplementedError

    def _copy(self, event: JoinerEvent) -> JoinerEvent:
        return dataclasses.replace(event, details=json_copy(event.details))

    async def claim_joiner(
        self,
        joiner_id: str,
        hire_day: date,
        owner: str,
        *,
        now: datetime,
        lease_until: datetime,
    ) -> JoinerClaim:
        key = joiner_values.key(joiner_id, hire_day)
        now, lease_until, owner = utc(now), utc(lease_until), text(owner)
        await self._io()
        current = self._joiners.get(key)
        if current is None:
            event = JoinerEvent(
                joiner_id=key[0],
                hire_day=key[1],
                state=JoinerState.CLAIMED,
                created_at=now,
                updated_at=now,
                owner=owner,
                lease_until=lease_until,
                attempts=1,
            )
            self._joiners[key] = event
            return JoinerClaim(True, self._copy(event))
        claimable = (
            current.state is JoinerState.OPEN
            or (
                current.state is JoinerState.CLAIMED
                and current.lease_until is not None
                and current.lease_until <= now
            )
            or (
                current.state is JoinerState.SNOOZED
                and current.remind_at is not None
                and current.remind_at <= now
            )
        )
        if not claimable:
            return JoinerClaim(False, self._copy(current))
        taken = dataclasses.replace(
            current,
            state=JoinerState.CLAIMED,
            owner=owner,
            lease_until=lease_until,
            attempts=current.attempts + 1,
            version=current.version + 1,
            updated_at=now,
        )
        self._joiners[key] = taken
        return JoinerClaim(True, self._copy(taken))

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
        key = joiner_values.key(joiner_id, hire_day)
        states = joiner_values.states(expected)
        fields = joiner_values.changes(changes or {})
        at = utc(at)
        await self._io()
        current = self._joiners.get(key)
        if current is None:
            raise StoreConflict(f"joiner event {joiner_id} {hire_day} does not exist")
        if current.state.value not in states or (owner is not None and current.owner != owner):
            raise StoreConflict(
                f"joiner event {joiner_id} {hire_day} is {current.state} (owner {current.owner})"
            )
        moved = dataclasses.replace(
            current,
            **fields,
            state=JoinerState(new_state),
            updated_at=at,
            version=current.version + 1,
        )
        self._joiners[key] = moved
        return self._copy(moved)

    async def get_joiner(self, joiner_id: str, hire_day: date) -> JoinerEvent | None:
        key = joiner_values.key(joiner_id, hire_day)
        await self._io()
        event = self._joiners.get(key)
        return None if event is None else self._copy(event)

    async def claim_sweep(
        self, day: date, owner: str, *, now: datetime, lease_until: datetime
    ) -> bool:
        day = joiner_values.day(day)
        now, lease_until, owner = utc(now), utc(lease_until), text(owner)
        await self._io()
        current = self._sweeps.get(day)
        if current is not None and (current.state is SweepState.DONE or current.lease_until > now):
            return False
        self._sweeps[day] = SweepRun(day, SweepState.RUNNING, owner, lease_until, now)
        return True

    async def renew_sweep(self, day: date, owner: str, *, lease_until: datetime) -> bool:
        day = joiner_values.day(day)
        lease_until = utc(lease_until)
        await self._io()
        current = self._sweeps.get(day)
        if current is None or current.owner != owner or current.state is not SweepState.RUNNING:
            return False
        self._sweeps[day] = dataclasses.replace(current, lease_until=lease_until)
        return True

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
        day = joiner_values.day(day)
        at = utc(at)
        until = utc(retry_at) if retry_at is not None else at
        kept = joiner_values.summary(summary or {})
        await self._io()
        current = self._sweeps.get(day)
        if current is None or current.owner != owner or current.state is not SweepState.RUNNING:
            return False
        self._sweeps[day] = dataclasses.replace(
            current, state=SweepState(state), finished_at=at, lease_until=until, summary=kept
        )
        return True

    async def get_sweep(self, day: date) -> SweepRun | None:
        day = joiner_values.day(day)
        await self._io()
        run = self._sweeps.get(day)
        return None if run is None else dataclasses.replace(run, summary=json_copy(run.summary))
