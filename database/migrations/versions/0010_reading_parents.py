"""readings' foreign keys checked per batch, not per row (issue 17, database side).

Revision ID: 0010
Revises: 0009
"""

from database.sqlfile import run_sql_file

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0010_reading_parents.up.sql")


def downgrade() -> None:
    run_sql_file("0010_reading_parents.down.sql")
