"""Gateway enrollment and revocation, device binding and quarantined readings (issue 15).

Revision ID: 0008
Revises: 0007
"""

from database.sqlfile import run_sql_file

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0008_enrollment.up.sql")


def downgrade() -> None:
    run_sql_file("0008_enrollment.down.sql")
