"""Summary tables for the care overview, kept exact by every writer (issue 17).

Revision ID: 0007
Revises: 0006
"""

from database.sqlfile import run_sql_file

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0007_summaries.up.sql")


def downgrade() -> None:
    run_sql_file("0007_summaries.down.sql")
