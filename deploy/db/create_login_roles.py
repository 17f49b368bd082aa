"""Compose's ``migrate`` job: create or update the services' database login users.

The logic lives in the core, ``database/login_roles.py`` (the native demo uses it too);
this file keeps the path that docker-compose.yml and the docs name.
"""

from __future__ import annotations

import sys

from database.login_roles import (
    LOGIN_ROLES,
    LoginRole,
    LoginRolesSettings,
    check_password,
    create_login_roles,
    ensure_login_role,
    main,
    scram_sha256_verifier,
)

__all__ = [
    "LOGIN_ROLES",
    "LoginRole",
    "LoginRolesSettings",
    "check_password",
    "create_login_roles",
    "ensure_login_role",
    "main",
    "scram_sha256_verifier",
]

if __name__ == "__main__":
    sys.exit(main())
