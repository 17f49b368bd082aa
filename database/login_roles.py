"""Create or update the database login users of the homevitals services (idempotent).

The migrations create the NOLOGIN group roles ``homevitals_ingest``, ``homevitals_api`` and
``homevitals_grafana`` with their grants (docs/database.md). A deployment needs a login user
in each group; this script makes them, or resets their passwords to the configured ones:

==================  ======================  =================================
login user          member of               password from
==================  ======================  =================================
``ingest_service``  ``homevitals_ingest``   ``HOMEVITALS_INGEST_DB_PASSWORD``
``api_service``     ``homevitals_api``      ``HOMEVITALS_API_DB_PASSWORD``
``grafana_reader``  ``homevitals_grafana``  ``HOMEVITALS_GRAFANA_DB_PASSWORD``
==================  ======================  =================================

It connects with ``HOMEVITALS_DATABASE_URL`` (a superuser or a role with CREATEROLE) and runs
after ``homevitals db migrate`` in the compose ``migrate`` job (through
deploy/db/create_login_roles.py); the native demo calls ``ensure_login_role`` directly.
The password goes to the server only as a SCRAM-SHA-256 verifier computed here, so it never
appears in SQL text that a server log (``log_statement``) could record.

Usage: ``python deploy/db/create_login_roles.py`` (or ``python -m database.login_roles``)
with the variables above set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sys
from dataclasses import dataclass

import psycopg
from psycopg import sql
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from homevitals.errors import ConfigurationError
from homevitals.settings import ServiceSettings

SCRAM_ITERATIONS = 4096  # PostgreSQL's default scram_iterations
# Unreserved URL characters only: the passwords also go into postgresql:// URLs, where
# anything else would need percent-encoding.
PASSWORD_PATTERN = re.compile(r"[A-Za-z0-9._~-]+")
MIN_PRODUCTION_PASSWORD_LENGTH = 16


@dataclass(frozen=True)
class LoginRole:
    user: str
    group: str
    setting: str  # the environment variable that holds its password
    # Per-user defaults (ALTER ROLE ... SET), as defence in depth on top of the grants.
    defaults: tuple[tuple[str, str], ...] = ()


LOGIN_ROLES = (
    LoginRole("ingest_service", "homevitals_ingest", "HOMEVITALS_INGEST_DB_PASSWORD"),
    LoginRole("api_service", "homevitals_api", "HOMEVITALS_API_DB_PASSWORD"),
    LoginRole(
        "grafana_reader",
        "homevitals_grafana",
        "HOMEVITALS_GRAFANA_DB_PASSWORD",
        # Dashboards only read, and a runaway panel query must not hold the database.
        (("default_transaction_read_only", "on"), ("statement_timeout", "30s")),
    ),
)


class LoginRolesSettings(ServiceSettings):
    """``HOMEVITALS_*`` variables of this script (``HOMEVITALS_ENVIRONMENT`` included)."""

    model_config = SettingsConfigDict(env_prefix="HOMEVITALS_", extra="ignore", env_file=None)

    database_url: str
    ingest_db_password: SecretStr
    api_db_password: SecretStr
    grafana_db_password: SecretStr

    def password_for(self, role: LoginRole) -> str:
        field = role.setting.removeprefix("HOMEVITALS_").lower()
        secret: SecretStr = getattr(self, field)
        return secret.get_secret_value()


def check_password(settings: LoginRolesSettings, role: LoginRole, password: str) -> None:
    """Refuse passwords that cannot work in a URL, and weak ones in production."""
    settings.require_secret(role.setting, password)
    if not PASSWORD_PATTERN.fullmatch(password):
        raise ConfigurationError(
            role.setting, "may contain only letters, digits and . _ ~ - (e.g. openssl rand -hex 24)"
        )
    if settings.environment == "production" and len(password) < MIN_PRODUCTION_PASSWORD_LENGTH:
        raise ConfigurationError(role.setting, f"is shorter than {MIN_PRODUCTION_PASSWORD_LENGTH} characters")


def scram_sha256_verifier(
    password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The verifier PostgreSQL stores for ``password`` (RFC 5802/7677, as ``\\password`` makes).

    Only ASCII passwords reach here (see PASSWORD_PATTERN), for which SASLprep is the identity.
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


Connection = psycopg.Connection[tuple[object, ...]]


def ensure_login_role(connection: Connection, role: LoginRole, password: str) -> str:
    """Create the user or reset it; returns 'created' or 'updated'."""
    user = sql.Identifier(role.user)
    exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.user,)).fetchone()
    if exists is None:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(user))
    connection.execute(
        sql.SQL(
            "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
            "INHERIT PASSWORD {}"
        ).format(user, sql.Literal(scram_sha256_verifier(password)))
    )
    connection.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role.group), user))
    for name, value in role.defaults:
        connection.execute(
            sql.SQL("ALTER ROLE {} SET {} = {}").format(user, sql.Identifier(name), sql.Literal(value))
        )
    return "created" if exists is None else "updated"


def create_login_roles(settings: LoginRolesSettings) -> dict[str, str]:
    """Check every password first, then create or update every user in one transaction."""
    passwords = {role.user: settings.password_for(role) for role in LOGIN_ROLES}
    for role in LOGIN_ROLES:
        check_password(settings, role, passwords[role.user])
    with psycopg.connect(settings.database_url) as connection:
        missing = [
            role.group
            for role in LOGIN_ROLES
            if connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.group,)).fetchone()
            is None
        ]
        if missing:
            raise ConfigurationError(
                "HOMEVITALS_DATABASE_URL",
                f"has no group role(s) {missing}: run 'homevitals db migrate' first",
            )
        return {role.user: ensure_login_role(connection, role, passwords[role.user]) for role in LOGIN_ROLES}


def main() -> int:
    try:
        outcome = create_login_roles(LoginRolesSettings())
    except ValidationError as error:
        unset = sorted(
            "HOMEVITALS_" + str(e["loc"][0]).upper() for e in error.errors() if e["type"] == "missing"
        )
        print(f"create_login_roles: set {', '.join(unset) or error}", file=sys.stderr)  # noqa: T201 - CLI
        return 2
    except ConfigurationError as error:
        print(f"create_login_roles: {error}", file=sys.stderr)  # noqa: T201
        return 2
    for user, what in outcome.items():
        print(f"create_login_roles: login user {user} {what}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
