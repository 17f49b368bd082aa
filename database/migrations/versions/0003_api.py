"""Schema additions owned by the api service.

Revision ID: 0003
Revises: 0002
"""

from database.sqlfile import run_sql_file

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0003_api.up.sql")


def downgrade() -> None:
    run_sql_file("0003_api.down.sql")
