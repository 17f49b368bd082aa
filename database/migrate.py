"""Apply the Alembic migrations (raw SQL, see migrations/sql/) to a database.

Alembic is the maintained standard for versioned migrations in Python; we use it only as a
runner (revision chain, alembic_version bookkeeping, one transaction per migration) and
write the schema itself in plain SQL, because TimescaleDB DDL, exclusion constraints and
triggers read best as SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def sqlalchemy_url(dsn: str) -> str:
    """Turn a libpq URL into the SQLAlchemy URL that selects psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+psycopg://" + dsn[len(prefix) :]
    raise ValueError(f"expected a postgresql:// URL, got {dsn.rsplit('@', maxsplit=1)[-1]!r}")


def _config(dsn: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(_config("postgresql://"))
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def current_revision(dsn: str) -> str | None:
    engine = create_engine(sqlalchemy_url(dsn), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def migrate(dsn: str, progress: Callable[[str], None] | None = None) -> list[str]:
    """Upgrade to head. Returns the revisions applied (empty when already at head)."""
    before = current_revision(dsn)
    head = head_revision()
    if before == head:
        return []
    script = ScriptDirectory.from_config(_config(dsn))
    pending = [
        rev.revision
        for rev in reversed(list(script.walk_revisions(base="base", head="heads")))
        if before is None or rev.revision > before
    ]
    if progress is not None:
        progress(f"applying {len(pending)} migration(s): {', '.join(pending)}")
    command.upgrade(_config(dsn), "head")
    return pending


def revisions() -> list[str]:
    """Every revision of the chain, oldest first."""
    script = ScriptDirectory.from_config(_config("postgresql://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions(base="base", head="heads")))]


def downgrade(dsn: str, revision: str) -> None:
    """Undo migrations down to ``revision`` (``"base"`` for an empty schema)."""
    command.downgrade(_config(dsn), revision)


def upgrade(dsn: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(_config(dsn), revision)
