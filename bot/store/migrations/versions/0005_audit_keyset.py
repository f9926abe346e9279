"""Audit reads page by (at, id): indexes for the keyset walk, plain and per person or actor.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # (at, id) serves the export and the unfiltered view in both directions; it makes the
    # index on `at` alone redundant. The person and actor views page within their own prefix.
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"])
    op.create_index("ix_audit_events_target_at_id", "audit_events", ["target_id", "at", "id"])
    op.create_index("ix_audit_events_actor_at_id", "audit_events", ["actor_id", "at", "id"])
    op.drop_index("ix_audit_events_at", table_name="audit_events")


def downgrade() -> None:
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.drop_index("ix_audit_events_actor_at_id", table_name="audit_events")
    op.drop_index("ix_audit_events_target_at_id", table_name="audit_events")
    op.drop_index("ix_audit_events_at_id", table_name="audit_events")
