"""Alembic's entry point. Migrations run only through `bot.store.migrator.migrate`, which hands
over an open connection inside a transaction (and, on PostgreSQL, an advisory lock)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.tables import metadata

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError("run migrations with bot.store.migrator.migrate(url)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them; batch mode writes that for later revisions.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
