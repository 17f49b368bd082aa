"""Authorization against stored data: is this citizen (alert, assignment) the caller's?

Role checks need no data (:func:`api.roles.require`); scope checks need the citizen's care
team, so they run first thing in the handler's transaction. A refusal for a named citizen
is written to the audit log as 'denied' before the 403 goes out.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from api import audit
from api.context import Caller
from api.db import Connection
from api.errors import CitizenAccessDenied, NotFound
from api.roles import Permission, Role, allowed_roles, in_scope

CITIZEN_COLUMNS = (
    "id, cpr, given_name, family_name, birth_date, care_team, timezone, active, created_at, updated_at"
)


async def authorize_citizen(
    conn: Connection,
    caller: Caller,
    citizen_id: int,
    permission: Permission,
    *,
    action: str,
    resource: str,
) -> dict[str, Any]:
    """The citizen's row if the caller may do ``permission`` on them; else 403 (audited) or 404."""
    principal = caller.principal
    if not principal.can(permission):
        roles = ", ".join(allowed_roles(permission))
        detail = f"role '{principal.role}' may not do this ({permission}); allowed: {roles}"
        await _deny(conn, caller, citizen_id, detail, action=action, resource=resource)
    if principal.role is Role.CITIZEN and principal.citizen_id != citizen_id:
        detail = "a citizen may only see their own data"
        await _deny(conn, caller, citizen_id, detail, action=action, resource=resource)
    cursor = await conn.execute(f"SELECT {CITIZEN_COLUMNS} FROM citizens WHERE id = %s", (citizen_id,))
    row = await cursor.fetchone()
    if row is None:
        raise NotFound("citizen", citizen_id)
    if not in_scope(principal, citizen_id, row["care_team"]):
        detail = f"citizen {citizen_id} is not in care team '{principal.team}'"
        await _deny(conn, caller, citizen_id, detail, action=action, resource=resource)
    return row


async def _deny(
    conn: Connection, caller: Caller, citizen_id: int, detail: str, *, action: str, resource: str
) -> None:
    await audit.record_denied(conn, caller, action, resource, citizen_id)
    raise CitizenAccessDenied(detail, citizen_id=citizen_id)


def citizen_scope(caller: Caller, column: str = "c") -> tuple[sql.Composable, dict[str, Any]]:
    """A WHERE fragment limiting ``citizens`` (aliased ``column``) to the caller's scope."""
    principal = caller.principal
    alias = sql.Identifier(column)
    if principal.role is Role.CITIZEN:
        return sql.SQL("{}.id = %(scope_citizen)s").format(alias), {"scope_citizen": principal.citizen_id}
    if principal.role is Role.CAREGIVER:
        return sql.SQL("{}.care_team = %(scope_team)s").format(alias), {"scope_team": principal.team}
    return sql.SQL("TRUE"), {}
