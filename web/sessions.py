"""Server-side login sessions (table ``web_sessions``, migration 0005).

The browser holds a random token in an HttpOnly cookie; the table holds its SHA-256, the
principal the login established, the session's CSRF token and its expiry. Logout sets
``revoked_at``, so a copied cookie is dead at once, not only when it expires. Rows of
sessions that ended more than :data:`KEEP_ENDED` ago are deleted at the next login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from api.db import Connection
from api.roles import Principal, Role

LoginMethod = Literal["oidc", "development"]
# Ended sessions stay this long for the operator's questions ("who was logged in when?").
KEEP_ENDED = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class WebSession:
    principal: Principal
    csrf_token: str
    login_method: LoginMethod = "development"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def open_session(
    conn: Connection, principal: Principal, *, method: LoginMethod, lifetime: timedelta
) -> str:
    """Store a new session for ``principal``; the cookie value (shown once) is returned."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "DELETE FROM web_sessions WHERE expires_at < now() - %s OR revoked_at < now() - %s",
        (KEEP_ENDED, KEEP_ENDED),
    )
    await conn.execute(
        "INSERT INTO web_sessions (token_sha256, sub, role, team, citizen_id, csrf_token, login_method, "
        "expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now() + %s)",
        (
            _digest(token),
            principal.sub,
            principal.role.value,
            principal.team,
            principal.citizen_id,
            secrets.token_urlsafe(32),
            method,
            lifetime,
        ),
    )
    return token


async def load_session(conn: Connection, token: str) -> WebSession | None:
    """The live session of this cookie value, or None (unknown, expired or logged out)."""
    row = await (
        await conn.execute(
            "UPDATE web_sessions SET last_seen_at = now() "
            "WHERE token_sha256 = %s AND revoked_at IS NULL AND expires_at > now() "
            "RETURNING sub, role, team, citizen_id, csrf_token, login_method",
            (_digest(token),),
        )
    ).fetchone()
    if row is None:
        return None
    principal = Principal(
        sub=row["sub"], role=Role(row["role"]), team=row["team"], citizen_id=row["citizen_id"]
    )
    method: LoginMethod = "oidc" if row["login_method"] == "oidc" else "development"
    return WebSession(principal=principal, csrf_token=row["csrf_token"], login_method=method)


async def revoke_session(conn: Connection, token: str) -> None:
    await conn.execute(
        "UPDATE web_sessions SET revoked_at = now() WHERE token_sha256 = %s AND revoked_at IS NULL",
        (_digest(token),),
    )


def csrf_matches(expected: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(expected.encode(), sent.encode())
