"""Schema additions owned by the ingest service.

Revision ID: 0002
Revises: 0001
"""

from database.sqlfile import run_sql_file

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0002_ingest.up.sql")


def downgrade() -> None:
    run_sql_file("0002_ingest.down.sql")
