"""Alembic migrations for the store; run them with `bot.store.migrator.migrate`."""
