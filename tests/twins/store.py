"""`MemoryStore`: the `Store` port in memory, for domain unit tests.

It passes the same contract suite as `bot.store.sql.SqlStore` (tests/integration/store) and
applies the same input checks (`bot.store.values`), so a test that passes against it fails
against neither engine for a reason the twin hid.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.domain.audit_query import AuditCursor
from bot.domain.errors import LimitReached, StoreConflict, StoreError
from bot.domain.model import (
    AuditEvent,
    ConversationRecord,
    ManagerRecord,
    RateLimit,
    RequestMessage,
    RequestState,
    ScheduledEdit,
    TapRequest,
    UsersDeltaState,
)
from bot.domain.request_query import RequestCursor
from bot.store import values
from tests.twins.joiner_store import MemoryJoinerRows

IN_FLIGHT = frozenset({RequestState.APPROVED, RequestState.ISSUING})


class MemoryStore(MemoryJoinerRows):
    """The `Store` port in memory.

    Each method first yields to the event loop once, as a database round trip would, so
    concurrent callers interleave; then it reads and writes without suspending, which makes
    every call atomic under asyncio (it is not thread-safe). Set *unavailable* to make every
    call raise StoreError, as a database outage would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.unavailable = False
        self._requests: dict[str, TapRequest] = {}
        self._audit: list[AuditEvent] = []
        self._conversations: dict[str, ConversationRecord] = {}
        self._claims: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._edits: dict[str, ScheduledEdit] = {}
        self._messages: list[RequestMessage] = []
        self._rate_events: list[tuple[str, str, datetime]] = []
        self._managers: dict[str, ManagerRecord] = {}
        self._delta = UsersDeltaState()
        self._delta_lease: tuple[str, datetime] | None = None

    async def close(self) -> None:
        """Do nothing: there is nothing to release. Present so tests can close any store."""

    async def _io(self) -> None:
        await asyncio.sleep(0)
        if self.unavailable:
            raise StoreError("store unavailable (MemoryStore.unavailable is set)")

    async def ping(self) -> None:
        await self._io()

    # Requests

    async def add_request(
        self, request: TapRequest, *, target_limit: RateLimit | None = None
    ) -> None:
        request = values.request(request)
        since = values.utc(target_limit.since) if target_limit else None
        await self._io()
        if request.id in self._requests:
            raise StoreConflict(f"request {request.id} already exists")
        self._refuse_second_in_flight(request.id, request.target_id, request.state)
        if target_limit is not None:
            count = sum(
                1
                for r in self._requests.values()
                if r.target_id == request.target_id and since is not None and r.created_at >= since
            )
            if count >= target_limit.limit:
                raise LimitReached(f"the target of request {request.id} reached its limit")
        self._requests[request.id] = request

    async def get_request(self, request_id: str) -> TapRequest | None:
        await self._io()
        return self._requests.get(request_id)

    async def transition(
        self,
        request_id: str,
        *,
        expected: Iterable[RequestState],
        new_state: RequestState,
        at: datetime,
        changes: Mapping[str, Any] | None = None,
        expected_stage: int | None = None,
    ) -> TapRequest:
        states = values.states(expected)
        fields = values.changes(changes or {})
        at = values.utc(at)
        await self._io()
        current = self._requests.get(request_id)
        if current is None:
            raise StoreConflict(f"request {request_id} does not exist")
        if current.state.value not in states:
            raise StoreConflict(
                f"request {request_id} is {current.state}, not {' or '.join(states)}"
            )
        if expected_stage is not None and current.stage != expected_stage:
            raise StoreConflict(
                f"request {request_id} is at stage {current.stage}, not {expected_stage}"
            )
        self._refuse_second_in_flight(request_id, current.target_id, RequestState(new_state))
        moved = dataclasses.replace(
            current,
            **fields,
            state=RequestState(new_state),
            updated_at=at,
            version=current.version + 1,
        )
        self._requests[request_id] = moved
        return moved

    def _refuse_second_in_flight(
        self, request_id: str, target_id: str, state: RequestState
    ) -> None:
        """What the SQL store's partial unique index does: one approved/issuing per target."""
        if state not in IN_FLIGHT:
            return
        for other in self._requests.values():
            if other.id != request_id and other.target_id == target_id and other.state in IN_FLIGHT:
                raise StoreConflict(f"another request for {target_id} is approved or issuing")

    async def update_request(self, request_id: str, *, changes: Mapping[str, Any]) -> TapRequest:
        fields = values.changes(changes)
        await self._io()
        current = self._requests.get(request_id)
        if current is None:
            raise StoreConflict(f"request {request_id} does not exist")
        changed = dataclasses.replace(current, **fields)
        self._requests[request_id] = changed
        return changed

    async def list_requests(
        self,
        *,
        requester_id: str | None = None,
        target_id: str | None = None,
        states: Iterable[RequestState] | None = None,
        created_since: datetime | None = None,
        updated_before: datetime | None = None,
        due_before: datetime | None = None,
        reasons: Iterable[str] | None = None,
        after: RequestCursor | None = None,
        oldest_first: bool = False,
        limit: int = 100,
    ) -> list[TapRequest]:
        cursor = None if after is None else (values.utc(after.created_at), values.text(after.id))
        wanted = None if states is None else set(values.states(states))
        since = values.optional_utc(created_since)
        updated = values.optional_utc(updated_before)
        due = values.optional_utc(due_before)
        why = None if reasons is None else {values.text(r) for r in reasons}
        limit = values.limit(limit)
        await self._io()
        found = [
            r
            for r in self._requests.values()
            if (requester_id is None or r.requester_id == requester_id)
            and (target_id is None or r.target_id == target_id)
            and (wanted is None or r.state.value in wanted)
            and (since is None or r.created_at >= since)
            and (updated is None or r.updated_at <= updated)
            and (due is None or (r.stage_due_at is not None and r.stage_due_at <= due))
            and (why is None or r.reason in why)
            and (
                cursor is None
                or (
                    (r.created_at, r.id) > cursor if oldest_first else (r.created_at, r.id) < cursor
                )
            )
        ]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=not oldest_first)
        return found[:limit]

    async def count_requests(
        self,
        *,
        requester_id: str | None = None,
        target_id: str | None = None,
        created_since: datetime,
    ) -> int:
        since = values.utc(created_since)
        await self._io()
        return sum(
            1
            for r in self._requests.values()
            if r.created_at >= since
            and (requester_id is None or r.requester_id == requester_id)
            and (target_id is None or r.target_id == target_id)
        )

    async def add_request_message(self, message: RequestMessage) -> None:
        message = values.request_message(message)
        await self._io()
        self._messages.append(message)

    async def list_request_messages(self, request_id: str) -> list[RequestMessage]:
        await self._io()
        found = [m for m in self._messages if m.request_id == request_id]
        return [dataclasses.replace(m, reference=values.json_copy(m.reference)) for m in found]

    # Rate limits

    async def admit(self, bucket: str, key: str, *, at: datetime, limit: RateLimit) -> bool:
        at = values.utc(at)
        since = values.utc(limit.since)
        await self._io()
        count = sum(1 for b, k, t in self._rate_events if b == bucket and k == key and t >= since)
        if count >= limit.limit:
            return False
        self._rate_events.append((bucket, key, at))
        return True

    async def prune_rate_events(self, before: datetime) -> int:
        before = values.utc(before)
        await self._io()
        kept = [event for event in self._rate_events if event[2] >= before]
        pruned = len(self._rate_events) - len(kept)
        self._rate_events = kept
        return pruned

    # Audit

    async def append_audit(self, event: AuditEvent) -> AuditEvent:
        event = values.audit_event(event)
        await self._io()
        stored = dataclasses.replace(event, id=len(self._audit) + 1)
        self._audit.append(stored)
        return dataclasses.replace(stored, detail=dict(stored.detail))

    async def list_audit(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        target_id: str | None = None,
        actor_id: str | None = None,
        outcome: str | None = None,
        action: str | None = None,
        after: AuditCursor | None = None,
        oldest_first: bool = False,
        limit: int = 100,
    ) -> list[AuditEvent]:
        start = values.optional_utc(since)
        end = values.optional_utc(until)
        wanted = {
            name: values.text(value)
            for name, value in (
                ("target_id", target_id),
                ("actor_id", actor_id),
                ("outcome", outcome),
                ("action", action),
            )
            if value is not None
        }
        cursor = None if after is None else (values.utc(after.at), after.id)
        limit = values.limit(limit)
        await self._io()

        def position(event: AuditEvent) -> tuple[datetime, int]:
            return (event.at, event.id or 0)

        found = [
            dataclasses.replace(e, detail=dict(e.detail))
            for e in self._audit
            if (start is None or e.at >= start)
            and (end is None or e.at < end)
            and all(getattr(e, name) == value for name, value in wanted.items())
            and (cursor is None or (position(e) > cursor if oldest_first else position(e) < cursor))
        ]
        found.sort(key=position, reverse=not oldest_first)
        return found[:limit]

    # Conversation references

    async def save_conversation(self, record: ConversationRecord) -> None:
        record = values.conversation(record)
        await self._io()
        self._conversations[record.key] = record

    async def get_conversation(self, key: str) -> ConversationRecord | None:
        await self._io()
        record = self._conversations.get(key)
        if record is None:
            return None
        return dataclasses.replace(record, reference=values.json_copy(record.reference))

    async def list_conversations(
        self, prefix: str, *, limit: int = 100
    ) -> list[ConversationRecord]:
        limit = values.limit(limit)
        await self._io()
        found = [r for key, r in self._conversations.items() if key.startswith(prefix)]
        found.sort(key=lambda r: r.key)
        found.sort(key=lambda r: r.updated_at, reverse=True)
        return [
            dataclasses.replace(r, reference=values.json_copy(r.reference)) for r in found[:limit]
        ]

    # Exactly-once job runs

    async def claim(self, job: str, run_key: str, owner: str, at: datetime) -> bool:
        at = values.utc(at)
        await self._io()
        if (job, run_key) in self._claims:
            return False
        self._claims[(job, run_key)] = (owner, at)
        return True

    # tapbot's record of managers

    async def manager_records(self, user_ids: Collection[str]) -> dict[str, ManagerRecord]:
        wanted = set(user_ids)
        await self._io()
        return {u: r for u, r in self._managers.items() if u in wanted}

    async def save_manager_record(self, record: ManagerRecord) -> ManagerRecord | None:
        record = values.manager_record(record)
        await self._io()
        current = self._managers.get(record.user_id)
        if (current.version if current else 0) != record.version:
            return None
        stored = dataclasses.replace(record, version=record.version + 1)
        self._managers[record.user_id] = stored
        return stored

    # The users delta's progress and lease

    async def users_delta_state(self) -> UsersDeltaState:
        await self._io()
        return self._delta

    async def claim_users_delta(
        self, owner: str, now: datetime, lease_until: datetime
    ) -> UsersDeltaState | None:
        now, lease_until = values.utc(now), values.utc(lease_until)
        values.text(owner)
        await self._io()
        held = self._delta_lease
        if held is not None and held[0] != owner and held[1] > now:
            return None
        self._delta_lease = (owner, lease_until)
        return self._delta

    async def save_users_delta(
        self, owner: str, state: UsersDeltaState, lease_until: datetime
    ) -> bool:
        state = values.users_delta_state(state)
        lease_until = values.utc(lease_until)
        await self._io()
        if self._delta_lease is None or self._delta_lease[0] != owner:
            return False
        self._delta = state
        self._delta_lease = (owner, lease_until)
        return True

    async def release_users_delta(self, owner: str) -> None:
        await self._io()
        if self._delta_lease is not None and self._delta_lease[0] == owner:
            self._delta_lease = None

    # Scheduled message edits

    async def schedule_edit(self, edit: ScheduledEdit) -> None:
        edit = values.scheduled_edit(edit)
        await self._io()
        if edit.id in self._edits:
            raise StoreConflict(f"scheduled edit {edit.id} already exists")
        self._edits[edit.id] = edit

    async def due_edits(self, now: datetime, *, limit: int = 100) -> list[ScheduledEdit]:
        now = values.utc(now)
        limit = values.limit(limit)
        await self._io()
        due = [e for e in self._edits.values() if not e.done and e.due_at <= now]
        due.sort(key=lambda e: (e.due_at, e.id))
        return [dataclasses.replace(e, payload=values.json_copy(e.payload)) for e in due[:limit]]

    async def mark_edit_done(self, edit_id: str) -> bool:
        await self._io()
        edit = self._edits.get(edit_id)
        if edit is None or edit.done:
            return False
        self._edits[edit_id] = dataclasses.replace(edit, done=True)
        return True


async def use_up(store: Any, bucket: str, key: str, count: int, *, at: datetime) -> None:
    """Record *count* events of (*bucket*, *key*) at *at* through the port, as if the person
    had clicked that often a moment ago (to test what happens past a limit)."""
    for _ in range(count):
        assert await store.admit(
            bucket, key, at=at, limit=RateLimit(count + 1, at - timedelta(hours=1))
        )
