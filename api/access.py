"""Authorization against stored data: is this citizen (alert, assignment) the caller's?

Role checks need no data (:func:`api.roles.require`); scope checks need the citizen's care
team, so they run first thing in the handler's transaction. A refusal for a named citizen,
or for a device, reading or assignment that leads to one, is written to the audit log as
'denied' before the 403 goes out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from psycopg import sql

from api import audit
from api.context import Caller
from api.db import Connection
from api.errors import CitizenAccessDenied, Forbidden, NotFound
from api.roles import Permission, Role, in_scope, role_refusal

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
    indirect: bool = False,
) -> dict[str, Any]:
    """The citizen's row if the caller may do ``permission`` on them; else 403 (audited) or 404.

    A caller scoped to part of the organisation (a caregiver) gets the same 403 for a citizen id
    that does not exist as for one outside their team, so the answers do not reveal which ids
    exist; both are audited as denied. ``indirect``: the caller named a device, reading or
    assignment, not the citizen, so the refusal does not say whose it is.
    """
    principal = caller.principal

    async def deny(detail: str) -> NoReturn:
        await _deny(conn, caller, citizen_id, detail, action=action, resource=resource, indirect=indirect)

    if not principal.can(permission):
        await deny(role_refusal(principal, permission))
    if principal.role is Role.CITIZEN and principal.citizen_id != citizen_id:
        await deny("a citizen may only see their own data")
    cursor = await conn.execute(f"SELECT {CITIZEN_COLUMNS} FROM citizens WHERE id = %s", (citizen_id,))
    row = await cursor.fetchone()
    if row is None and (principal.sees_everyone or principal.role is Role.CITIZEN):
        raise NotFound("citizen", citizen_id)
    if row is None or not in_scope(principal, citizen_id, row["care_team"]):
        subject = "this" if indirect else f"citizen {citizen_id}"
        await deny(f"{subject} is not in care team '{principal.team}'")
    assert row is not None  # noqa: S101 - denied above otherwise
    return row


async def _deny(
    conn: Connection,
    caller: Caller,
    citizen_id: int,
    detail: str,
    *,
    action: str,
    resource: str,
    indirect: bool,
) -> NoReturn:
    if indirect:
        await deny_indirectly(conn, caller, [citizen_id], detail, action=action, resource=resource)
    await audit.record_denied(conn, caller, action, resource, citizen_id)
    raise CitizenAccessDenied(detail, citizen_id=citizen_id)


async def deny_indirectly(
    conn: Connection, caller: Caller, citizen_ids: Iterable[int], detail: str, *, action: str, resource: str
) -> NoReturn:
    """Refuse a request that reaches citizens only through what it names (a device): one
    'denied' row per citizen, and a 403 that names none of them."""
    for citizen_id in sorted(set(citizen_ids)):
        await audit.record_denied(conn, caller, action, resource, citizen_id)
    raise Forbidden(detail)


def citizen_scope(caller: Caller, column: str = "c") -> tuple[sql.Composable, dict[str, Any]]:
    """A WHERE fragment limiting ``citizens`` (aliased ``column``) to the caller's scope."""
    principal = caller.principal
    alias = sql.Identifier(column)
    if principal.role is Role.CITIZEN:
        return sql.SQL("{}.id = %(scope_citizen)s").format(alias), {"scope_citizen": principal.citizen_id}
    if principal.role is Role.CAREGIVER:
        return sql.SQL("{}.care_team = %(scope_team)s").format(alias), {"scope_team": principal.team}
    return sql.SQL("TRUE"), {}
