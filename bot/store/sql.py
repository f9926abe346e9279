"""The Store over SQLAlchemy Core: SQLite for one process, PostgreSQL for one or many.

Every method is one short transaction. Compare-and-set happens inside single statements
(``UPDATE … WHERE state IN …``, ``UPDATE … WHERE NOT done``, an insert against a unique key),
so concurrent callers in one process or in several agree on one winner on both engines.
Driver failures become StoreError with a message that never carries SQL parameters.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.errors import StoreConflict
from bot.domain.model import (
    AuditEvent,
    ConversationRecord,
    RequestState,
    ScheduledEdit,
    TapRequest,
)
from bot.store import values
from bot.store.engine import WRITE, is_unique_violation, make_engine
from bot.store.guard import translated
from bot.store.joiner_rows import JoinerRows
from bot.store.migrator import migrate
from bot.store.tables import audit_events, conversations, job_claims, scheduled_edits, tap_requests

__all__ = ["SqlStore", "create_store", "migrate"]


def create_store(database_url: str) -> SqlStore:
    """Return a store for *database_url* (``sqlite[+aiosqlite]:///file`` or
    ``postgresql[+asyncpg]://…``) without connecting; `migrate` it first and `close` it last.
    Raises StoreError for a URL of another kind."""
    return SqlStore(make_engine(database_url))


class SqlStore(JoinerRows):
    """The `Store` port over an async SQLAlchemy engine made by `make_engine` (its SQLite BEGIN
    handling is what makes concurrent transitions safe there)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE: True})

    async def close(self) -> None:
        """Close every pooled connection. Idempotent; a closed store reconnects if used again."""
        await self._engine.dispose()

    @translated
    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(select(1))

    # Requests

    @translated
    async def add_request(self, request: TapRequest) -> None:
        row = _request_row(values.request(request))
        try:
            async with self._writer.begin() as connection:
                await connection.execute(insert(tap_requests).values(row))
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            conflict = StoreConflict(
                f"request {request.id} already exists, or another request for its target is "
                "approved or issuing"
            )
        else:
            return
        raise conflict

    @translated
    async def get_request(self, request_id: str) -> TapRequest | None:
        query = select(tap_requests).where(tap_requests.c.id == request_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        return None if row is None else _request(row)

    @translated
    async def transition(
        self,
        request_id: str,
        *,
        expected: Iterable[RequestState],
        new_state: RequestState,
        at: datetime,
        changes: Mapping[str, Any] | None = None,
    ) -> TapRequest:
        """Move the request to *new_state* if it is in one of *expected* (StoreConflict if it is
        not, or does not exist), set ``updated_at`` to *at*, apply *changes*, bump ``version``.
        One UPDATE decides, so exactly one of several concurrent callers wins. ValueError for
        changes to unknown or read-only fields."""
        states = values.states(expected)
        columns = _columns(values.changes(changes or {}))
        columns |= {
            "state": RequestState(new_state).value,
            "updated_at": values.utc(at),
            "version": tap_requests.c.version + 1,
        }
        statement = (
            update(tap_requests)
            .where(tap_requests.c.id == request_id, tap_requests.c.state.in_(states))
            .values(columns)
            .returning(*tap_requests.c)
        )
        in_flight: StoreConflict | None = None
        try:
            async with self._writer.begin() as connection:
                row = (await connection.execute(statement)).one_or_none()
                if row is not None:
                    return _request(row)
                current = await connection.scalar(
                    select(tap_requests.c.state).where(tap_requests.c.id == request_id)
                )
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            in_flight = StoreConflict(
                f"another request for the target of {request_id} is approved or issuing"
            )
        if in_flight is not None:
            raise in_flight
        if current is None:
            raise StoreConflict(f"request {request_id} does not exist")
        raise StoreConflict(f"request {request_id} is {current}, not {' or '.join(states)}")

    @translated
    async def update_request(self, request_id: str, *, changes: Mapping[str, Any]) -> TapRequest:
        """Apply *changes* without touching state, version or ``updated_at``. StoreConflict if
        the request does not exist; ValueError for unknown or read-only fields."""
        columns = _columns(values.changes(changes))
        row: Row[Any] | None = None
        if columns:
            statement = (
                update(tap_requests)
                .where(tap_requests.c.id == request_id)
                .values(columns)
                .returning(*tap_requests.c)
            )
            async with self._writer.begin() as connection:
                row = (await connection.execute(statement)).one_or_none()
        else:
            query = select(tap_requests).where(tap_requests.c.id == request_id)
            async with self._engine.connect() as connection:
                row = (await connection.execute(query)).one_or_none()
        if row is None:
            raise StoreConflict(f"request {request_id} does not exist")
        return _request(row)

    @translated
    async def list_requests(
        self,
        *,
        requester_id: str | None = None,
        target_id: str | None = None,
        states: Iterable[RequestState] | None = None,
        created_since: datetime | None = None,
        limit: int = 100,
    ) -> list[TapRequest]:
        """Return matching requests, newest first (ties: greater id first), at most *limit*."""
        query = select(tap_requests)
        if requester_id is not None:
            query = query.where(tap_requests.c.requester_id == requester_id)
        if target_id is not None:
            query = query.where(tap_requests.c.target_id == target_id)
        if states is not None:
            query = query.where(tap_requests.c.state.in_(values.states(states)))
        if created_since is not None:
            query = query.where(tap_requests.c.created_at >= values.utc(created_since))
        query = query.order_by(tap_requests.c.created_at.desc(), tap_requests.c.id.desc())
        async with self._engine.connect() as connection:
            rows = await connection.execute(query.limit(values.limit(limit)))
            return [_request(row) for row in rows]

    @translated
    async def count_requests(
        self,
        *,
        requester_id: str | None = None,
        target_id: str | None = None,
        created_since: datetime,
    ) -> int:
        """Count requests created at or after *created_since*, optionally of one requester
        and/or one target."""
        query = select(func.count()).select_from(tap_requests)
        query = query.where(tap_requests.c.created_at >= values.utc(created_since))
        if requester_id is not None:
            query = query.where(tap_requests.c.requester_id == requester_id)
        if target_id is not None:
            query = query.where(tap_requests.c.target_id == target_id)
        async with self._engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    # Audit

    @translated
    async def append_audit(self, event: AuditEvent) -> AuditEvent:
        """Append *event* (its ``id`` is ignored) and return it as stored, with the new id.
        The database refuses UPDATE and DELETE on audit rows."""
        event = values.audit_event(event)
        row = {
            "at": event.at,
            "action": event.action,
            "outcome": event.outcome,
            "actor_id": event.actor_id,
            "target_id": event.target_id,
            "request_id": event.request_id,
            "reason": event.reason,
            "detail": dict(event.detail),
        }
        statement = insert(audit_events).values(row).returning(audit_events.c.id)
        async with self._writer.begin() as connection:
            new_id = (await connection.execute(statement)).scalar_one()
        return dataclasses.replace(event, id=int(new_id))

    @translated
    async def list_audit(
        self, *, since: datetime | None = None, until: datetime | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        query = select(audit_events)
        if since is not None:
            query = query.where(audit_events.c.at >= values.utc(since))
        if until is not None:
            query = query.where(audit_events.c.at < values.utc(until))
        query = query.order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
        async with self._engine.connect() as connection:
            rows = await connection.execute(query.limit(values.limit(limit)))
            return [AuditEvent(**row._asdict()) for row in rows]

    # Conversation references

    @translated
    async def save_conversation(self, record: ConversationRecord) -> None:
        record = values.conversation(record)
        row = {
            "key": record.key,
            "tenant_id": record.tenant_id,
            "reference": record.reference,
            "updated_at": record.updated_at,
        }
        upsert = postgresql_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = upsert(conversations).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=[conversations.c.key],
            set_={name: statement.excluded[name] for name in row if name != "key"},
        )
        async with self._writer.begin() as connection:
            await connection.execute(statement)

    @translated
    async def get_conversation(self, key: str) -> ConversationRecord | None:
        query = select(conversations).where(conversations.c.key == key)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).one_or_none()
        return None if row is None else ConversationRecord(**row._asdict())

    # Exactly-once job runs

    @translated
    async def claim(self, job: str, run_key: str, owner: str, at: datetime) -> bool:
        """Insert the claim; the (job, run_key) primary key lets exactly one insert ever succeed,
        whichever process or instance tries. Idempotent for losers: they get False."""
        row = {"job": job, "run_key": run_key, "owner": owner, "claimed_at": values.utc(at)}
        try:
            async with self._writer.begin() as connection:
                await connection.execute(insert(job_claims).values(row))
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            return False
        return True

    # Scheduled message edits

    @translated
    async def schedule_edit(self, edit: ScheduledEdit) -> None:
        """Store *edit*; StoreConflict if an edit with its id exists."""
        edit = values.scheduled_edit(edit)
        row = {
            "id": edit.id,
            "due_at": edit.due_at,
            "conversation_key": edit.conversation_key,
            "activity_id": edit.activity_id,
            "kind": edit.kind,
            "payload": edit.payload,
            "done": edit.done,
        }
        try:
            async with self._writer.begin() as connection:
                await connection.execute(insert(scheduled_edits).values(row))
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            conflict = StoreConflict(f"scheduled edit {edit.id} already exists")
        else:
            return
        raise conflict

    @translated
    async def due_edits(self, now: datetime, *, limit: int = 100) -> list[ScheduledEdit]:
        """Return undone edits due at or before *now*, oldest first (ties: smaller id first)."""
        query = (
            select(scheduled_edits)
            .where(scheduled_edits.c.done.is_(False), scheduled_edits.c.due_at <= values.utc(now))
            .order_by(scheduled_edits.c.due_at, scheduled_edits.c.id)
            .limit(values.limit(limit))
        )
        async with self._engine.connect() as connection:
            return [ScheduledEdit(**row._asdict()) for row in await connection.execute(query)]

    @translated
    async def mark_edit_done(self, edit_id: str) -> bool:
        """Mark the edit done; True only for the one caller whose UPDATE changed it, False for
        an edit already done or unknown."""
        statement = (
            update(scheduled_edits)
            .where(scheduled_edits.c.id == edit_id, scheduled_edits.c.done.is_(False))
            .values(done=True)
        )
        async with self._writer.begin() as connection:
            result = await connection.execute(statement)
        return result.rowcount == 1


def _columns(changes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: v.value if isinstance(v, enum.Enum) else v for name, v in changes.items()}


def _request_row(request: TapRequest) -> dict[str, Any]:
    return _columns({name: getattr(request, name) for name in values.REQUEST_FIELDS})


def _request(row: Row[Any]) -> TapRequest:
    return values.request(TapRequest(**row._asdict()))
