"""Alembic environment: runs the raw-SQL migrations over psycopg 3, one transaction each."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
url = config.get_main_option("sqlalchemy.url")
if url is None:  # pragma: no cover - set by database.migrate
    raise RuntimeError("sqlalchemy.url is not set; run migrations through `homevitals db migrate`")

engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
