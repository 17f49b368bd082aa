"""summaries_add picks each group's newest reading in one pass, not one scan per group (issue 17).

Revision ID: 0011
Revises: 0010
"""

from database.sqlfile import run_sql_file

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0011_summaries_newest.up.sql")


def downgrade() -> None:
    run_sql_file("0011_summaries_newest.down.sql")
