"""Device binding and quarantine: a gateway speaks only for the devices it serves.

Every device is bound to one gateway (``devices.bound_gateway_id``). The binding is made
once, by whichever comes first: an admin (``PUT /api/v1/devices/{id}/gateway``), the first
status message of an enrolled gateway that lists the device (pairing puts it on the
allow-list, and the status lists the allow-list), or the first reading of it. Ingest never
moves a binding: a re-bind is an admin's decision.

A reading is **quarantined** (stored, ``citizen_id`` NULL, no alert, shown with its reason in
the unassigned queue and the fleet dashboard) when it arrives

- through a gateway that is not the device's (``device_bound_to_other_gateway``): a hostile
  or misconfigured gateway cannot put values into another household's record;
- through a revoked gateway (``gateway_revoked``): what it had in flight when it was revoked
  is kept as evidence but attributed to no one.

Such readings also leave the device's facts alone (battery, model, last gateway). The SQL
below is spliced into the writer's statements, inside the batch's transaction, so the
check sees the bindings exactly as that transaction does.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import psycopg
from psycopg import sql


class QuarantineReason(StrEnum):
    """``readings.quarantine_reason``."""

    DEVICE_BOUND_TO_OTHER_GATEWAY = "device_bound_to_other_gateway"
    GATEWAY_REVOKED = "gateway_revoked"


class BoundBy(StrEnum):
    """``devices.bound_by`` for bindings ingest makes."""

    READING = "ingest:reading"
    STATUS = "ingest:status"


def bind_new_devices(staging: str) -> sql.Composed:
    """Bind the batch's unbound devices to the gateway whose reading came first.

    Runs after the new devices are inserted and before the readings are. Only rows that
    match ``bound_gateway_id IS NULL`` are locked, so bound devices (nearly all) cost one
    index probe each and no lock."""
    return sql.SQL("""
UPDATE devices d SET bound_gateway_id = s.gateway_id, bound_at = now(), bound_by = {source}
FROM (SELECT DISTINCT ON (address) address, gateway_id FROM {staging}
      ORDER BY address, gateway_time, gateway_id) s
JOIN gateways g ON g.gateway_id = s.gateway_id AND g.revoked_at IS NULL
WHERE d.address = s.address AND d.bound_gateway_id IS NULL
""").format(staging=sql.Identifier(staging), source=sql.Literal(str(BoundBy.READING)))


def quarantine_lateral(gateway: sql.Composable, device: str) -> sql.Composed:
    """``LEFT JOIN LATERAL (...) q ON true``: ``q.reason`` is the reading's quarantine reason,
    NULL when it may be attributed. ``gateway`` is the SQL of the gateway id the reading came
    through (``s.gateway_id``, or a placeholder), ``device`` the alias of its ``devices`` row."""
    return sql.SQL("""LEFT JOIN LATERAL (
  SELECT CASE WHEN g.revoked_at IS NOT NULL THEN {revoked}
              WHEN {d}.bound_gateway_id IS NOT NULL AND {d}.bound_gateway_id <> {r} THEN {other}
         END AS reason
  FROM gateways g WHERE g.gateway_id = {r}
) q ON true""").format(
        r=gateway,
        d=sql.Identifier(device),
        revoked=sql.Literal(str(QuarantineReason.GATEWAY_REVOKED)),
        other=sql.Literal(str(QuarantineReason.DEVICE_BOUND_TO_OTHER_GATEWAY)),
    )


def speaks_for_device(staging: str) -> sql.Composed:
    """A ``WHERE`` condition on staging rows: the reading came through the device's own,
    unrevoked gateway, so what it says about the device (battery, model...) is believed."""
    return sql.SQL("""EXISTS (
  SELECT 1 FROM devices b JOIN gateways g ON g.gateway_id = b.bound_gateway_id
  WHERE b.address = {s}.address AND b.bound_gateway_id = {s}.gateway_id AND g.revoked_at IS NULL)""").format(
        s=sql.Identifier(staging)
    )


# For the status device upsert's ON CONFLICT DO UPDATE: only the device's own gateway (or,
# for an unbound device, any gateway; the bind below then decides) updates its facts.
STATUS_SPEAKS_FOR_DEVICE: Final = sql.SQL(
    "d.bound_gateway_id IS NULL OR d.bound_gateway_id = excluded.last_gateway_id"
)
# For a per-row reading device upsert's ON CONFLICT DO UPDATE (the device exists: it was
# created and bound before the readings went in): the device's own, unrevoked gateway only.
UPSERT_SPEAKS_FOR_DEVICE: Final = sql.SQL(
    "d.bound_gateway_id = excluded.last_gateway_id AND NOT EXISTS "
    "(SELECT 1 FROM gateways g WHERE g.gateway_id = excluded.last_gateway_id AND g.revoked_at IS NOT NULL)"
)


def bind_devices(source: BoundBy) -> sql.Composed:
    """Bind the unbound devices among ``%s`` (addresses) to gateway ``%s``, unless it is revoked."""
    return sql.SQL("""
UPDATE devices d SET bound_gateway_id = g.gateway_id, bound_at = now(), bound_by = {source}
FROM gateways g
WHERE g.gateway_id = %s AND g.revoked_at IS NULL AND d.address = ANY(%s) AND d.bound_gateway_id IS NULL
""").format(source=sql.Literal(str(source)))


_BIND_FROM_STATUS: Final = bind_devices(BoundBy.STATUS)


def bind_status_devices(cur: psycopg.Cursor[object], gateway_id: str, addresses: list[str]) -> int:
    """Bind the unbound devices a gateway's status lists (its allow-list: what it paired)."""
    if not addresses:
        return 0
    cur.execute(_BIND_FROM_STATUS, (gateway_id, sorted(addresses)))
    return cur.rowcount
