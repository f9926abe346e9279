"""Initial schema: requests, append-only audit, conversations, job claims, scheduled edits.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_REFUSAL = "audit_events is append-only"


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tap_requests",
        _text("id"),
        _text("tenant_id"),
        _text("requester_id"),
        _text("requester_name"),
        _text("target_id"),
        _text("target_name"),
        sa.Column("lifetime_minutes", sa.Integer(), nullable=False),
        sa.Column("is_usable_once", sa.Boolean(), nullable=False),
        _time("start_at", nullable=True),
        _text("delivery"),
        _text("justification"),
        _text("state"),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("replace_existing", sa.Boolean(), nullable=False),
        _text("pass_id", nullable=True),
        _time("pass_ends_at", nullable=True),
        _text("reason", nullable=True),
        _text("card_ref", nullable=True),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tap_requests"),
    )
    op.create_index(
        "ix_tap_requests_requester_created", "tap_requests", ["requester_id", "created_at"]
    )
    op.create_index("ix_tap_requests_target_created", "tap_requests", ["target_id", "created_at"])
    op.create_index("ix_tap_requests_state", "tap_requests", ["state"])
    op.create_index("ix_tap_requests_created", "tap_requests", ["created_at"])

    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        _time("at"),
        _text("action"),
        _text("outcome"),
        _text("actor_id"),
        _text("target_id", nullable=True),
        _text("request_id", nullable=True),
        _text("reason", nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_request", "audit_events", ["request_id"])
    _make_audit_append_only()

    op.create_table(
        "conversations",
        _text("key"),
        _text("tenant_id"),
        sa.Column("reference", sa.JSON(), nullable=False),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_conversations"),
    )
    op.create_table(
        "job_claims",
        _text("job"),
        _text("run_key"),
        _text("owner"),
        _time("claimed_at"),
        sa.PrimaryKeyConstraint("job", "run_key", name="pk_job_claims"),
    )
    op.create_table(
        "scheduled_edits",
        _text("id"),
        _time("due_at"),
        _text("conversation_key"),
        _text("activity_id"),
        _text("kind"),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scheduled_edits"),
    )
    op.create_index("ix_scheduled_edits_pending", "scheduled_edits", ["done", "due_at"])


def _make_audit_append_only() -> None:
    # The application never updates or deletes audit rows; the triggers make a bug (or a hand
    # with the app's credentials) fail loudly instead. A database owner can still drop them,
    # deliberately, for example to apply a retention period.
    if op.get_context().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb} BEFORE {verb.upper()} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    op.drop_table("scheduled_edits")
    op.drop_table("job_claims")
    op.drop_table("conversations")
    op.drop_table("audit_events")
    if op.get_context().dialect.name != "sqlite":
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_table("tap_requests")
