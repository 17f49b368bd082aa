"""Ingest strictness: dead-letter truncation facts and reading-id conflicts (issue 18).

Revision ID: 0006
Revises: 0005
"""

from database.sqlfile import run_sql_file

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0006_ingest_strict.up.sql")


def downgrade() -> None:
    run_sql_file("0006_ingest_strict.down.sql")
