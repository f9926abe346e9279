"""`MemoryStore`: the `Store` port in memory, for domain unit tests.

It passes the same contract suite as `bot.store.sql.SqlStore` (tests/integration/store) and
applies the same input checks (`bot.store.values`), so a test that passes against it fails
against neither engine for a reason the twin hid.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.domain.errors import StoreConflict, StoreError
from bot.domain.model import (
    AuditEvent,
    ConversationRecord,
    RequestState,
    ScheduledEdit,
    TapRequest,
)
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

    async def close(self) -> None:
        """Do nothing: there is nothing to release. Present so tests can close any store."""

    async def _io(self) -> None:
        await asyncio.sleep(0)
        if self.unavailable:
            raise StoreError("store unavailable (MemoryStore.unavailable is set)")

    async def ping(self) -> None:
        await self._io()

    # Requests

    async def add_request(self, request: TapRequest) -> None:
        request = values.request(request)
        await self._io()
        if request.id in self._requests:
            raise StoreConflict(f"request {request.id} already exists")
        self._refuse_second_in_flight(request.id, request.target_id, request.state)
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
        limit: int = 100,
    ) -> list[TapRequest]:
        wanted = None if states is None else set(values.states(states))
        since = values.optional_utc(created_since)
        limit = values.limit(limit)
        await self._io()
        found = [
            r
            for r in self._requests.values()
            if (requester_id is None or r.requester_id == requester_id)
            and (target_id is None or r.target_id == target_id)
            and (wanted is None or r.state.value in wanted)
            and (since is None or r.created_at >= since)
        ]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
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

    # Audit

    async def append_audit(self, event: AuditEvent) -> AuditEvent:
        event = values.audit_event(event)
        await self._io()
        stored = dataclasses.replace(event, id=len(self._audit) + 1)
        self._audit.append(stored)
        return dataclasses.replace(stored, detail=dict(stored.detail))

    async def list_audit(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        start = values.optional_utc(since)
        end = values.optional_utc(until)
        limit = values.limit(limit)
        await self._io()
        found = [
            dataclasses.replace(e, detail=dict(e.detail))
            for e in self._audit
            if (start is None or e.at >= start) and (end is None or e.at < end)
        ]
        found.sort(key=lambda e: (e.at, e.id or 0), reverse=True)
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

    # Exactly-once job runs

    async def claim(self, job: str, run_key: str, owner: str, at: datetime) -> bool:
        at = values.utc(at)
        await self._io()
        if (job, run_key) in self._claims:
            return False
        self._claims[(job, run_key)] = (owner, at)
        return True

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
