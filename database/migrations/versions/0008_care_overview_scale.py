"""Care overview at scale: calendar-day mean from the summaries, raw reads outside the plan (issue 17).

Revision ID: 0008
Revises: 0007
"""

from database.sqlfile import run_sql_file

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0008_care_overview_scale.up.sql")


def downgrade() -> None:
    run_sql_file("0008_care_overview_scale.down.sql")
