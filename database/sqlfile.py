"""Run a raw SQL file inside the current Alembic migration transaction."""

from __future__ import annotations

from pathlib import Path

from alembic import op

SQL_DIR = Path(__file__).parent / "migrations" / "sql"


def run_sql_file(name: str) -> None:
    """Execute ``migrations/sql/NAME`` verbatim on the migration's connection.

    The SQL goes straight to psycopg (no SQLAlchemy parameter parsing), so casts like
    ``::text`` and literal percent signs are safe.
    """
    sql = (SQL_DIR / name).read_text(encoding="utf-8")
    dbapi_connection = op.get_bind().connection.dbapi_connection
    if dbapi_connection is None:  # pragma: no cover - alembic always hands us a live connection
        raise RuntimeError("no database connection in this migration")
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()
