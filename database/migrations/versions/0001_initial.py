"""Initial schema: citizens, gateways, devices, assignments, readings hypertable, thresholds,
alerts, audit log, dead letters, database roles and the read-only Grafana views.

Revision ID: 0001
Revises:
"""

from database.sqlfile import run_sql_file

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0001_initial.up.sql")


def downgrade() -> None:
    run_sql_file("0001_initial.down.sql")
