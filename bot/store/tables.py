"""The store's tables as SQLAlchemy Core metadata, for queries. Migrations create them.

Every time column is `UtcDateTime`: timestamptz on PostgreSQL, a fixed-width UTC text on SQLite
(so it sorts and compares correctly), and an aware UTC datetime in Python on both. Text columns
have no length limit on either engine, so the two accept the same values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.types import TypeDecorator

# SQLite gives AUTOINCREMENT behaviour only to a column declared exactly INTEGER PRIMARY KEY.
AuditId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC and always read back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        # SQLite's DATETIME text has no offset; every stored value is UTC by this rule.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()
IN_FLIGHT_CLAUSE = "state IN ('approved', 'issuing')"

tap_requests = Table(
    "tap_requests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("requester_id", Text, nullable=False),
    Column("requester_name", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("target_name", Text, nullable=False),
    Column("lifetime_minutes", Integer, nullable=False),
    Column("is_usable_once", Boolean, nullable=False),
    Column("start_at", UtcDateTime, nullable=True),
    Column("delivery", Text, nullable=False),
    Column("justification", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("stage", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("replace_existing", Boolean, nullable=False),
    Column("pass_id", Text, nullable=True),
    Column("pass_ends_at", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("card_ref", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("kind", Text, nullable=False),
    Column("stages", JSON, nullable=False),
    Column("decisions", JSON, nullable=False),
    Column("context", JSON, nullable=False),
    Column("stage_due_at", UtcDateTime, nullable=True),
    Column("issuing_started_at", UtcDateTime, nullable=True),
    Column("issuing_ended_at", UtcDateTime, nullable=True),
    Column("typed_number", Text, nullable=True),
    Column("delivered_to", Text, nullable=False),
    Index("ix_tap_requests_requester_created", "requester_id", "created_at"),
    Index("ix_tap_requests_target_created", "target_id", "created_at"),
    Index("ix_tap_requests_state", "state"),
    Index("ix_tap_requests_created", "created_at"),
    Index("ix_tap_requests_state_due", "state", "stage_due_at"),
    Index("ix_tap_requests_state_updated", "state", "updated_at"),
    # At most one request per person may be on its way to a pass: two instances, or two cards,
    # must not each create one (Entra would silently replace the first).
    Index(
        "uq_tap_requests_target_in_flight",
        "target_id",
        unique=True,
        sqlite_where=text(IN_FLIGHT_CLAUSE),
        postgresql_where=text(IN_FLIGHT_CLAUSE),
    ),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", AuditId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("action", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("target_id", Text, nullable=True),
    Column("request_id", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_events_at_id", "at", "id"),
    Index("ix_audit_events_target_at_id", "target_id", "at", "id"),
    Index("ix_audit_events_actor_at_id", "actor_id", "at", "id"),
    Index("ix_audit_events_request", "request_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("key", Text, primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("reference", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

job_claims = Table(
    "job_claims",
    metadata,
    Column("job", Text, nullable=False),
    Column("run_key", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("job", "run_key", name="pk_job_claims"),
)

scheduled_edits = Table(
    "scheduled_edits",
    metadata,
    Column("id", Text, primary_key=True),
    Column("due_at", UtcDateTime, nullable=False),
    Column("conversation_key", Text, nullable=False),
    Column("activity_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("done", Boolean, nullable=False),
    Index("ix_scheduled_edits_pending", "done", "due_at"),
)

request_messages = Table(
    "request_messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("request_id", Text, nullable=False),
    Column("audience", Text, nullable=False),
    Column("activity_id", Text, nullable=False),
    Column("reference", JSON, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Index("ix_request_messages_request", "request_id"),
)

rate_events = Table(
    "rate_events",
    metadata,
    Column("id", AuditId, primary_key=True, autoincrement=True),
    Column("bucket", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_rate_events_bucket_key_at", "bucket", "key", "at"),
    Index("ix_rate_events_at", "at"),
)

# tapbot's own record of each person's manager as last seen (bot.domain.model.ManagerRecord).
manager_records = Table(
    "manager_records",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("manager_id", Text, nullable=True),
    Column("previous_manager_id", Text, nullable=True),
    Column("changed_at", UtcDateTime, nullable=True),
    Column("first_seen", Boolean, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
)

# Where reading the users delta query stands, and who holds the lease on reading it; one row
# per delta stream (only "users" today).
users_delta = Table(
    "users_delta",
    metadata,
    Column("stream", Text, primary_key=True),
    Column("link", Text, nullable=True),
    Column("full_round", Boolean, nullable=False),
    Column("baseline_at", UtcDateTime, nullable=True),
    Column("polled_at", UtcDateTime, nullable=True),
    Column("lease_owner", Text, nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
)

joiner_events = Table(
    "joiner_events",
    metadata,
    Column("joiner_id", Text, nullable=False),
    Column("hire_day", Date, nullable=False),
    Column("state", Text, nullable=False),
    Column("owner", Text, nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("remind_at", UtcDateTime, nullable=True),
    Column("recipient", Text, nullable=True),
    Column("recipient_id", Text, nullable=True),
    Column("conversation_key", Text, nullable=True),
    Column("activity_id", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("joiner_id", "hire_day", name="pk_joiner_events"),
    Index("ix_joiner_events_state", "state"),
)

joiner_sweeps = Table(
    "joiner_sweeps",
    metadata,
    Column("day", Date, nullable=False),
    Column("state", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("lease_until", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("summary", JSON, nullable=False),
    PrimaryKeyConstraint("day", name="pk_joiner_sweeps"),
)
