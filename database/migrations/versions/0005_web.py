"""Schema additions owned by the web app: login sessions, threshold history.

Revision ID: 0005
Revises: 0004
"""

from database.sqlfile import run_sql_file

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0005_web.up.sql")


def downgrade() -> None:
    run_sql_file("0005_web.down.sql")
