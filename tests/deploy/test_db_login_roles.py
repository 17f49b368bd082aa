"""deploy/db/create_login_roles.py against a real PostgreSQL with TimescaleDB.

The harness's clusters trust local connections; this module starts its own migrated cluster
with a SCRAM rule for the three login users in front, so a login proves the stored verifier
is right. Login users are cluster-wide, so each test first runs the script itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from deploy_support import DEPLOY, load_script_module

from devstack.services.postgres import LocalPostgres

SCRIPT = DEPLOY / "db" / "create_login_roles.py"
roles_script = load_script_module(SCRIPT, "create_login_roles")
USERS = ("ingest_service", "api_service", "grafana_reader")
PASSWORDS = {
    "HOMEVITALS_INGEST_DB_PASSWORD": "ingest-0123456789abcdef",
    "HOMEVITALS_API_DB_PASSWORD": "api-0123456789abcdef",
    "HOMEVITALS_GRAFANA_DB_PASSWORD": "grafana-0123456789abcdef",
}


@pytest.fixture(scope="module")
def scram_postgres() -> Iterator[LocalPostgres]:
    from database.migrate import migrate

    with LocalPostgres() as server:
        migrate(server.dsn)
        hba = server.data_dir / "pg_hba.conf"
        hba.write_text(f"host all {','.join(USERS)} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        server.execute("postgres", "SELECT pg_reload_conf()")
        yield server


def run_script(dsn: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOMEVITALS_DATABASE_URL": dsn,
        "HOMEVITALS_ENVIRONMENT": "production",
        **PASSWORDS,
        **overrides,
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def login(server: LocalPostgres, user: str, password: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"postgresql://{user}:{password}@127.0.0.1:{server.port}/homevitals", autocommit=True)


@pytest.mark.integration
def test_creates_login_users_that_log_in_with_scram_in_their_groups(scram_postgres: LocalPostgres) -> None:
    scram_postgres.execute("postgres", f"DROP ROLE IF EXISTS {', '.join(USERS)}")
    result = run_script(scram_postgres.dsn)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(" created") == 3
    for role in roles_script.LOGIN_ROLES:
        with login(scram_postgres, role.user, PASSWORDS[role.setting]) as connection:
            member = connection.execute("SELECT pg_has_role(current_user, %s, 'member')", (role.group,)).fetchone()
            assert member == (True,), f"{role.user} is not in {role.group}"
        with psycopg.connect(scram_postgres.dsn) as admin:
            (verifier,) = admin.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (role.user,)
            ).fetchone() or ("",)
        assert str(verifier).startswith("SCRAM-SHA-256$4096:")
        assert PASSWORDS[role.setting] not in str(verifier)


@pytest.mark.integration
def test_a_wrong_password_is_refused(scram_postgres: LocalPostgres) -> None:
    assert run_script(scram_postgres.dsn).returncode == 0
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        login(scram_postgres, "api_service", "not-the-password-0123")


@pytest.mark.integration
def test_a_second_run_updates_passwords_and_changes_nothing_else(scram_postgres: LocalPostgres) -> None:
    assert run_script(scram_postgres.dsn).returncode == 0
    rotated = "rotated-0123456789abcdef"
    result = run_script(scram_postgres.dsn, HOMEVITALS_INGEST_DB_PASSWORD=rotated)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(" updated") == 3
    with login(scram_postgres, "ingest_service", rotated) as connection:
        assert connection.execute("SELECT current_user").fetchone() == ("ingest_service",)
    with pytest.raises(psycopg.OperationalError):
        login(scram_postgres, "ingest_service", PASSWORDS["HOMEVITALS_INGEST_DB_PASSWORD"])
    with psycopg.connect(scram_postgres.dsn) as admin:
        count = admin.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s) AND rolcanlogin AND NOT rolsuper",
            (list(USERS),),
        ).fetchone()
    assert count == (3,)


@pytest.mark.integration
def test_grafana_reader_only_reads_the_grafana_views(scram_postgres: LocalPostgres) -> None:
    assert run_script(scram_postgres.dsn).returncode == 0
    with login(scram_postgres, "grafana_reader", PASSWORDS["HOMEVITALS_GRAFANA_DB_PASSWORD"]) as connection:
        assert connection.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert connection.execute("SHOW statement_timeout").fetchone() == ("30s",)
        connection.execute("SELECT count(*) FROM grafana.readings").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("SELECT count(*) FROM public.readings")


@pytest.mark.integration
def test_ingest_service_may_insert_what_ingest_inserts(scram_postgres: LocalPostgres) -> None:
    assert run_script(scram_postgres.dsn).returncode == 0
    with login(scram_postgres, "ingest_service", PASSWORDS["HOMEVITALS_INGEST_DB_PASSWORD"]) as connection:
        privileges = connection.execute(
            "SELECT has_table_privilege('readings', 'INSERT'), has_table_privilege('dead_letters', 'INSERT'),"
            " has_table_privilege('citizens', 'INSERT')"
        ).fetchone()
    assert privileges == (True, True, False)


@pytest.mark.integration
def test_refuses_to_run_before_the_migrations() -> None:
    with LocalPostgres() as fresh:  # a new cluster: no group roles yet
        result = run_script(fresh.dsn)
    assert result.returncode == 2
    assert "run 'homevitals db migrate' first" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"HOMEVITALS_API_DB_PASSWORD": "changeme"}, "HOMEVITALS_API_DB_PASSWORD: is unset or a published default"),
        ({"HOMEVITALS_API_DB_PASSWORD": "short-0123"}, "shorter than 16"),
        ({"HOMEVITALS_API_DB_PASSWORD": "has@sign/and:colon-0123"}, "only letters, digits"),
        ({"HOMEVITALS_GRAFANA_DB_PASSWORD": ""}, "HOMEVITALS_GRAFANA_DB_PASSWORD: is unset"),
    ],
)
def test_refuses_unsafe_passwords_before_touching_the_database(
    overrides: dict[str, str], complaint: str
) -> None:
    result = run_script("postgresql://nobody@127.0.0.1:1/none", **overrides)
    assert result.returncode == 2
    assert complaint in result.stderr


def test_names_every_unset_variable() -> None:
    env = {"PATH": os.environ["PATH"]}
    result = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    for variable in ("HOMEVITALS_DATABASE_URL", *PASSWORDS):
        assert variable in result.stderr


def test_scram_verifier_matches_the_rfc_7677_example() -> None:
    """RFC 7677, section 3: user 'user', password 'pencil', 4096 iterations. The client's
    proof and the server's signature of that exchange must check out against our keys."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = roles_script.scram_sha256_verifier("pencil", salt=salt, iterations=4096)
    head, keys = verifier.split("$", 2)[1:]
    assert head == "4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (base64.b64decode(part) for part in keys.split(":"))
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (
        f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r={nonce}"
    ).encode()
    client_proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(client_proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
