"""Persistence behind the domain's `Store` port: SQLAlchemy Core tables, SQLite and PostgreSQL
through one `SqlStore`, and Alembic migrations applied by `migrate` at start-up."""
