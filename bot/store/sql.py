"""The Store over SQLAlchemy Core: SQLite for one process, PostgreSQL for one or many.

Every method is one short transaction. Compare-and-set happens inside single statements
(``UPDATE … WHERE state IN …``, ``UPDATE … WHERE NOT done``, an insert against a unique key),
so concurrent callers in one process or in several agree on one winner on both engines.
Driver failures become StoreError with a message that never carries SQL parameters.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.audit_query import AuditCursor
from bot.domain.errors import LimitReached, StoreConflict, StoreError
from bot.domain.model import (
    AuditEvent,
    ConversationRecord,
    RateLimit,
    RequestMessage,
    RequestState,
    ScheduledEdit,
    TapRequest,
)
from bot.domain.request_query import RequestCursor
from bot.store import values
from bot.store.engine import WRITE, is_unique_violation, make_engine, translated
from bot.store.joiner_rows import JoinerRows
from bot.store.manager_records import ManagerRecordsSql
from bot.store.migrator import migrate
from bot.store.tables import (
    audit_events,
    conversations,
    job_claims,
    rate_events,
    request_messages,
    scheduled_edits,
    tap_requests,
)

__all__ = ["SqlStore", "create_store", "migrate"]


def create_store(database_url: str) -> SqlStore:
    """Return a store for *database_url* (``sqlite[+aiosqlite]:///file`` or
    ``postgresql[+asyncpg]://…``) without connecting; `migrate` it first and `close` it last.
    Raises StoreError for a URL of another kind."""
    return SqlStore(make_engine(database_url))


class SqlStore(ManagerRecordsSql, JoinerRows):
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
    async def add_request(
        self, request: TapRequest, *, target_limit: RateLimit | None = None
    ) -> None:
        """Insert *request*; with *target_limit*, count the target's recent requests first in
        the same transaction, under a lock on the target (see `_lock`), so parallel inserts
        cannot both pass the count."""
        row = _request_row(values.request(request))
        try:
            async with self._writer.begin() as connection:
                if (
                    target_limit is not None
                    and await self._target_count(connection, request.target_id, target_limit)
                    >= target_limit.limit
                ):
                    reached = True
                else:
                    reached = False
                    await connection.execute(insert(tap_requests).values(row))
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            conflict: StoreError = StoreConflict(
                f"request {request.id} already exists, or another request for its target is "
                "approved or issuing"
            )
        else:
            if not reached:
                return
            conflict = LimitReached(f"the target of request {request.id} reached its limit")
        raise conflict

    async def _target_count(
        self, connection: AsyncConnection, target_id: str, limit: RateLimit
    ) -> int:
        await self._lock(connection, f"target:{target_id}")
        count = await connection.scalar(
            select(func.count())
            .select_from(tap_requests)
            .where(
                tap_requests.c.target_id == target_id,
                tap_requests.c.created_at >= values.utc(limit.since),
            )
        )
        return int(count or 0)

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
        expected_stage: int | None = None,
    ) -> TapRequest:
        """Move the request to *new_state* if it is in one of *expected* and, when given, at
        *expected_stage* (StoreConflict if it is not, or does not exist), set ``updated_at`` to
        *at*, apply *changes*, bump ``version``. One UPDATE decides, so exactly one of several
        concurrent callers wins. ValueError for changes to unknown or read-only fields."""
        states = values.states(expected)
        columns = _columns(values.changes(changes or {}))
        columns |= {
            "state": RequestState(new_state).value,
            "updated_at": values.utc(at),
            "version": tap_requests.c.version + 1,
        }
        where = [tap_requests.c.id == request_id, tap_requests.c.state.in_(states)]
        if expected_stage is not None:
            where.append(tap_requests.c.stage == expected_stage)
        statement = update(tap_requests).where(*where).values(columns).returning(*tap_requests.c)
        in_flight: StoreConflict | None = None
        try:
            async with self._writer.begin() as connection:
                row = (await connection.execute(statement)).one_or_none()
                if row is not None:
                    return _request(row)
                found = (
                    await connection.execute(
                        select(tap_requests.c.state, tap_requests.c.stage).where(
                            tap_requests.c.id == request_id
                        )
                    )
                ).one_or_none()
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            in_flight = StoreConflict(
                f"another request for the target of {request_id} is approved or issuing"
            )
        if in_flight is not None:
            raise in_flight
        if found is None:
            raise StoreConflict(f"request {request_id} does not exist")
        state, stage = found
        if expected_stage is not None and state in states:
            raise StoreConflict(f"request {request_id} is at stage {stage}, not {expected_stage}")
        raise StoreConflict(f"request {request_id} is {state}, not {' or '.join(states)}")

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
        updated_before: datetime | None = None,
        due_before: datetime | None = None,
        reasons: Iterable[str] | None = None,
        after: RequestCursor | None = None,
        oldest_first: bool = False,
        limit: int = 100,
    ) -> list[TapRequest]:
        """Return matching requests, newest first (ties: greater id first) or oldest first,
        at most *limit*, past *after* when given (a keyset page; with *requester_id* the
        (requester_id, created_at) index serves it at any depth)."""
        query = select(tap_requests)
        if after is not None:
            # Spelt as a range on created_at plus the tie-break, like the audit walk, so the
            # index range starts at the cursor.
            at, key = values.utc(after.created_at), values.text(after.id)
            created, request_id = tap_requests.c.created_at, tap_requests.c.id
            if oldest_first:
                query = query.where(created >= at, or_(created > at, request_id > key))
            else:
                query = query.where(created <= at, or_(created < at, request_id < key))
        if requester_id is not None:
            query = query.where(tap_requests.c.requester_id == requester_id)
        if target_id is not None:
            query = query.where(tap_requests.c.target_id == target_id)
        if states is not None:
            query = query.where(tap_requests.c.state.in_(values.states(states)))
        if created_since is not None:
            query = query.where(tap_requests.c.created_at >= values.utc(created_since))
        if updated_before is not None:
            query = query.where(tap_requests.c.updated_at <= values.utc(updated_before))
        if due_before is not None:
            query = query.where(tap_requests.c.stage_due_at <= values.utc(due_before))
        if reasons is not None:
            query = query.where(tap_requests.c.reason.in_([values.text(r) for r in reasons]))
        if oldest_first:
            query = query.order_by(tap_requests.c.created_at, tap_requests.c.id)
        else:
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

    @translated
    async def add_request_message(self, message: RequestMessage) -> None:
        message = values.request_message(message)
        row = {
            "id": str(uuid.uuid4()),
            "request_id": message.request_id,
            "audience": message.audience,
            "activity_id": message.activity_id,
            "reference": message.reference,
            "posted_at": message.posted_at,
        }
        async with self._writer.begin() as connection:
            await connection.execute(insert(request_messages).values(row))

    @translated
    async def list_request_messages(self, request_id: str) -> list[RequestMessage]:
        query = (
            select(request_messages)
            .where(request_messages.c.request_id == request_id)
            .order_by(request_messages.c.posted_at, request_messages.c.id)
        )
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return [
                RequestMessage(
                    request_id=row.request_id,
                    audience=row.audience,
                    activity_id=row.activity_id,
                    reference=row.reference,
                    posted_at=row.posted_at,
                )
                for row in rows
            ]

    # Rate limits

    @translated
    async def admit(self, bucket: str, key: str, *, at: datetime, limit: RateLimit) -> bool:
        """Count and insert in one transaction under a lock on (*bucket*, *key*)."""
        where = (
            rate_events.c.bucket == values.text(bucket),
            rate_events.c.key == values.text(key),
            rate_events.c.at >= values.utc(limit.since),
        )
        async with self._writer.begin() as connection:
            await self._lock(connection, f"{bucket}:{key}")
            count = await connection.scalar(
                select(func.count()).select_from(rate_events).where(*where)
            )
            if int(count or 0) >= limit.limit:
                return False
            await connection.execute(
                insert(rate_events).values(bucket=bucket, key=key, at=values.utc(at))
            )
        return True

    @translated
    async def prune_rate_events(self, before: datetime) -> int:
        statement = delete(rate_events).where(rate_events.c.at < values.utc(before))
        async with self._writer.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount or 0)

    async def _lock(self, connection: AsyncConnection, key: str) -> None:
        """Serialise writers on *key* until the transaction ends. SQLite needs nothing more:
        a writing transaction there holds the database's one write lock (BEGIN IMMEDIATE)."""
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            )

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
        """One page of a keyset walk over (at, id); the indexes of migration 0005 serve it
        with or without a person or actor filter, so a page costs the same at any depth."""
        table = audit_events
        query = select(table)
        lower = values.optional_utc(since)
        upper = values.optional_utc(until)
        if after is not None:
            # The pair comparison is spelt so that the index range starts at the cursor (a
            # row-value comparison, or a bare OR, is not an index range for every planner).
            # It replaces the window's bound on the same side when it is the tighter one, and
            # is implied by it otherwise: SQLite bounds an index range by one of two lower
            # (or upper) bounds only, and would start every page at `since`.
            at = values.utc(after.at)
            if oldest_first and (lower is None or lower <= at):
                query = query.where(table.c.at >= at, or_(table.c.at > at, table.c.id > after.id))
                lower = None
            elif not oldest_first and (upper is None or at < upper):
                query = query.where(table.c.at <= at, or_(table.c.at < at, table.c.id < after.id))
                upper = None
        if lower is not None:
            query = query.where(table.c.at >= lower)
        if upper is not None:
            query = query.where(table.c.at < upper)
        for column, wanted in (
            (table.c.target_id, target_id),
            (table.c.actor_id, actor_id),
            (table.c.outcome, outcome),
            (table.c.action, action),
        ):
            if wanted is not None:
                query = query.where(column == values.text(wanted))
        if oldest_first:
            query = query.order_by(table.c.at, table.c.id)
        else:
            query = query.order_by(table.c.at.desc(), table.c.id.desc())
        async with self._engine.connect() as connection:
            rows = await connection.execute(query.limit(values.limit(limit)))
            return [_audit_event(row) for row in rows]

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

    @translated
    async def list_conversations(
        self, prefix: str, *, limit: int = 100
    ) -> list[ConversationRecord]:
        query = (
            select(conversations)
            # substr, not LIKE: SQLite's LIKE ignores case and treats % and _ specially.
            .where(func.substr(conversations.c.key, 1, len(prefix)) == values.text(prefix))
            .order_by(conversations.c.updated_at.desc(), conversations.c.key)
            .limit(values.limit(limit))
        )
        async with self._engine.connect() as connection:
            rows = await connection.execute(query)
            return [ConversationRecord(**row._asdict()) for row in rows]

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
    return {name: values.column(name, v) for name, v in changes.items()}


def _request_row(request: TapRequest) -> dict[str, Any]:
    return _columns({name: getattr(request, name) for name in values.REQUEST_FIELDS})


def _audit_event(row: Row[Any]) -> AuditEvent:
    # By position (the table's column order): an export builds a million of these.
    cells: tuple[Any, ...] = tuple(row)
    id_, at, action, outcome, actor_id, target_id, request_id, reason, detail = cells
    return AuditEvent(at, action, outcome, actor_id, target_id, request_id, reason, detail, id_)


def _request(row: Row[Any]) -> TapRequest:
    return values.request(TapRequest(**row._asdict()))
