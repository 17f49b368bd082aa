"""Every migration's downgrade undoes exactly its upgrade, on a real TimescaleDB.

The test walks the chain up one revision at a time, takes a snapshot of the schema from the
catalogs at each step, then walks down one step at a time and compares each step with the
snapshot taken on the way up; finally it goes up again to head. A down.sql that forgets a
table, an index, a trigger, a function, a grant or a hypertable fails here with the object it
left behind or failed to restore.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from database.migrate import current_revision, downgrade, revisions, upgrade
from tests.support.database import drop_database, unique_database_name

pytestmark = pytest.mark.integration

# Schemas TimescaleDB and PostgreSQL own; their contents follow the extension's version.
_OURS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE '\\_timescaledb%%' AND n.nspname NOT LIKE 'timescaledb\\_%%' AND n.nspname NOT LIKE 'pg\\_temp%%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp%%'"

# Objects an extension owns (TimescaleDB's and btree_gist's functions in public): 0001 creates
# the extensions IF NOT EXISTS and its downgrade leaves them, as other schemas may use them.
_NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.objid = {oid} AND x.deptype = 'e')"

SNAPSHOT_QUERIES = {
    "schemas": f"SELECT n.nspname FROM pg_namespace n WHERE {_OURS}",
    "relations": f"""
        SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS} AND c.relkind IN ('r', 'v', 'm', 'i', 'S', 'p', 'f')""",
    "columns": f"""
        SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_OURS} AND c.relkind IN ('r', 'v', 'm', 'p') AND a.attnum > 0 AND NOT a.attisdropped""",
    "constraints": f"""
        SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS}""",
    "indexes": f"""
        SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS}""",
    "functions": f"""
        SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), md5(p.prosrc)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_OURS} AND {_NOT_EXTENSION.format(oid="p.oid")}""",
    "triggers": f"""
        SELECT n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS} AND NOT t.tgisinternal""",
    "views": f"""
        SELECT n.nspname, c.relname, md5(pg_get_viewdef(c.oid))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_OURS} AND c.relkind IN ('v', 'm')""",
    "grants": f"""
        SELECT n.nspname, c.relname, c.relacl::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_OURS} AND c.relkind IN ('r', 'v', 'm', 'p') AND c.relacl IS NOT NULL""",
    "types": f"""
        SELECT n.nspname, t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_OURS} AND {_NOT_EXTENSION.format(oid="t.oid")} AND t.typtype IN ('e', 'd', 'c') AND NOT EXISTS (
            SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')""",
    "enum labels": f"""
        SELECT n.nspname, t.typname, e.enumlabel, e.enumsortorder
        FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_OURS}""",
    "database settings": """
        SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
        WHERE d.datname = current_database() AND s.setrole = 0""",
}


HYPERTABLES = "SELECT hypertable_schema, hypertable_name, num_dimensions FROM timescaledb_information.hypertables"


def snapshot(dsn: str) -> dict[str, set[tuple[object, ...]]]:
    with psycopg.connect(dsn) as conn:
        # Alembic's own bookkeeping table appears with the first upgrade and stays.
        taken = {
            name: {tuple(row) for row in conn.execute(sql).fetchall() if not {"alembic_version", "alembic_version_pkc"} & set(map(str, row))}
            for name, sql in SNAPSHOT_QUERIES.items()
        }
        has_timescale = conn.execute("SELECT to_regclass('timescaledb_information.hypertables')").fetchone()
        rows = conn.execute(HYPERTABLES).fetchall() if has_timescale and has_timescale[0] else []
    taken["hypertables"] = {tuple(row) for row in rows}
    return taken


def differences(expected: dict[str, set[tuple[object, ...]]], actual: dict[str, set[tuple[object, ...]]]) -> dict[str, dict[str, list[tuple[object, ...]]]]:
    return {
        name: {"left behind": sorted(actual[name] - rows, key=repr), "missing": sorted(rows - actual[name], key=repr)}
        for name, rows in expected.items()
        if rows != actual[name]
    }


@contextmanager
def empty_database(server, prefix: str) -> Iterator[str]:
    """A database with no migration applied (not the harness's migrated template); its DSN."""
    name = unique_database_name(prefix)
    server.execute("postgres", f"CREATE DATABASE {name}")
    try:
        yield server.dsn_for(name)
    finally:
        drop_database(server, name)


def test_every_downgrade_restores_the_schema_its_upgrade_found(postgres_server):
    with empty_database(postgres_server, "roundtrip") as dsn:
        chain = revisions()
        assert len(chain) >= 9 and chain[0] == "0001"
        seen = {"base": snapshot(dsn)}
        for revision in chain:
            upgrade(dsn, revision)
            seen[revision] = snapshot(dsn)
            # Each step changes the schema; a revision whose snapshot equals its predecessor's
            # would make this test blind to its downgrade.
        for below, revision in reversed(list(zip(["base", *chain[:-1]], chain, strict=True))):
            downgrade(dsn, below)
            assert current_revision(dsn) == (None if below == "base" else below)
            assert differences(seen[below], snapshot(dsn)) == {}, f"downgrade of {revision} to {below}"
        upgrade(dsn)
        assert differences(seen[chain[-1]], snapshot(dsn)) == {}, "upgrade to head after the full downgrade"


def test_each_revision_changes_what_the_snapshot_sees(postgres_server):
    """The snapshot is sharp enough: every migration's upgrade shows up in it."""
    with empty_database(postgres_server, "steps") as dsn:
        before = snapshot(dsn)
        for revision in revisions():
            upgrade(dsn, revision)
            after = snapshot(dsn)
            assert after != before, f"migration {revision} changed nothing the snapshot sees"
            before = after


def test_the_downgrade_command_asks_first_then_goes_down_and_up_again(postgres_server):
    from typer.testing import CliRunner

    from database.cli import app
    from database.migrate import head_revision, migrate

    previous = revisions()[-2]
    with empty_database(postgres_server, "dbcli") as dsn:
        migrate(dsn)
        runner = CliRunner()
        unconfirmed = runner.invoke(app, ["downgrade", previous, "--dsn", dsn])
        assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.output
        assert current_revision(dsn) == head_revision()
        done = runner.invoke(app, ["downgrade", previous, "--yes", "--dsn", dsn])
        assert done.exit_code == 0, done.output
        assert f"from {head_revision()} to {previous}" in done.output
        assert current_revision(dsn) == previous
        unknown = runner.invoke(app, ["downgrade", "nonesuch", "--yes", "--dsn", dsn])
        assert unknown.exit_code == 1 and "downgrade failed" in unknown.output
        assert migrate(dsn) == [head_revision()]
