"""Enroll, redeem, revoke, re-bind: the steps the API routes and the hub CLI share.

Each function runs on the caller's connection, inside the caller's transaction, and writes
its own audit row there. Broker calls come first and the database changes after them, so a
broker that refuses leaves the database as it was, and the operator simply tries again:

- enroll: broker account (random password) -> gateway row, sealed bundle, code;
- revoke: broker account deleted (the broker disconnects the gateway at once) -> gateway
  marked revoked, unredeemed codes cancelled. Ingest quarantines what still arrives;
- redeem: one code, once; every attempt is recorded and rate-limited (no login: the
  installer on the Pi has only the code).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from pydantic import SecretStr

from api import audit
from api.audit import Action
from api.context import Caller
from api.db import Connection
from api.enrollment.broker import BrokerAccount, BrokerAdminFactory
from api.enrollment.codes import SALT_BYTES, SealBroken, code_hash, new_code, new_password, seal, unseal
from api.errors import (
    BrokerUnavailable,
    CodeAlreadyUsed,
    CodeCancelled,
    CodeExpired,
    Conflict,
    NotFound,
    ServiceUnavailable,
    TooManyAttempts,
    UnknownCode,
)
from homevitals.enrollment import EnrollmentBundle
from homevitals.errors import HomevitalsError

log = structlog.get_logger("api.enrollment")


class AttemptOutcome(StrEnum):
    """``enrollment_attempts.outcome``."""

    REDEEMED = "redeemed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    CANCELLED = "cancelled"


class BindingSource(StrEnum):
    """``devices.bound_by`` prefixes: who bound a device to its gateway."""

    READING = "ingest:reading"
    STATUS = "ingest:status"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class EnrollmentPolicy:
    """What goes into every bundle, and the limits of the redeem endpoint (API_ENROLL_*)."""

    mqtt_host: str
    mqtt_port: int
    mqtt_tls: bool
    mqtt_ca_pem: str | None = None
    code_ttl: timedelta = timedelta(hours=24)
    redeem_per_minute: int = 10
    redeem_per_minute_total: int = 60


@dataclass(frozen=True, slots=True)
class Enrollment:
    gateway_id: str
    code: str
    expires_at: datetime
    bundle: EnrollmentBundle


@dataclass(frozen=True, slots=True)
class Revocation:
    gateway_id: str
    revoked_at: datetime
    codes_cancelled: int
    already_revoked: bool


@dataclass(frozen=True, slots=True)
class Binding:
    device_id: int
    previous_gateway_id: str | None
    gateway_id: str
    released: int


def _require_broker(open_broker: BrokerAdminFactory | None) -> BrokerAdminFactory:
    if open_broker is None:
        raise ServiceUnavailable(
            "this hub has no broker administration configured, so it cannot issue or revoke broker "
            "accounts: set API_BROKER_ADMIN_PASSWORD (and API_BROKER_HOST, API_BROKER_PORT) for the API "
            "(docs/deployment.md, 'Enrolling and revoking gateways')"
        )
    return open_broker


def _provision(open_broker: BrokerAdminFactory, gateway_id: str, password: SecretStr) -> BrokerAccount:
    with open_broker() as admin:
        return admin.provision_gateway(gateway_id, password)


def _revoke(open_broker: BrokerAdminFactory, gateway_id: str) -> None:
    with open_broker() as admin:
        admin.revoke_gateway(gateway_id)


async def _broker_call(what: str, gateway_id: str, call: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(call, *args)
    except (HomevitalsError, OSError, TimeoutError) as error:
        log.exception("broker_admin_failed", operation=what, gateway_id=gateway_id, error=str(error))
        raise BrokerUnavailable(
            f"the broker did not {what} for gateway {gateway_id}: {error}. Nothing was changed "
            "in the database; check that Mosquitto and its dynamic-security plugin run, then try again"
        ) from error


async def enroll(
    conn: Connection,
    open_broker: BrokerAdminFactory | None,
    policy: EnrollmentPolicy,
    *,
    gateway_id: str,
    description: str | None,
    caller: Caller,
) -> Enrollment:
    """Create (or re-enroll a revoked) gateway: broker account, one-time code and bundle."""
    broker = _require_broker(open_broker)
    row = await (
        await conn.execute(
            "SELECT enrolled_at, revoked_at FROM gateways WHERE gateway_id = %s FOR UPDATE", (gateway_id,)
        )
    ).fetchone()
    if row is None:
        await conn.execute(
            "INSERT INTO gateways (gateway_id, description) VALUES (%s, %s)", (gateway_id, description)
        )
    elif row["enrolled_at"] is not None and row["revoked_at"] is None:
        raise Conflict(
            f"gateway {gateway_id} is enrolled since {row['enrolled_at'].isoformat()}. To give it new "
            f"credentials (a lost code, a new SD card), revoke it first (POST /api/v1/gateways/"
            f"{gateway_id}/revoke or `homevitals gateway revoke {gateway_id}`), then enroll it again"
        )
    password = SecretStr(new_password())
    account: BrokerAccount = await _broker_call(
        "create the broker account", gateway_id, _provision, broker, gateway_id, password
    )
    bundle = EnrollmentBundle(
        gateway_id=gateway_id,
        mqtt_host=policy.mqtt_host,
        mqtt_port=policy.mqtt_port,
        mqtt_tls=policy.mqtt_tls,
        mqtt_ca_pem=policy.mqtt_ca_pem,
        mqtt_username=account.username,
        mqtt_client_id=account.client_id,
        mqtt_password=password,
    )
    code = new_code()
    salt = os.urandom(SALT_BYTES)
    sealed = await asyncio.to_thread(seal, bundle.to_json_bytes(), code, salt)
    cancelled = await _cancel_codes(conn, gateway_id)
    expires = await (
        await conn.execute(
            "INSERT INTO enrollment_codes (gateway_id, code_hash, sealed_bundle, seal_salt, created_by, "
            "expires_at) VALUES (%s, %s, %s, %s, %s, now() + %s) RETURNING expires_at",
            (gateway_id, code_hash(code), sealed, salt, caller.principal.sub, policy.code_ttl),
        )
    ).fetchone()
    assert expires is not None  # noqa: S101 - INSERT ... RETURNING
    await conn.execute(
        "UPDATE gateways SET enrolled_at = now(), enrolled_by = %s, broker_username = %s, "
        "broker_client_id = %s, revoked_at = NULL, revoked_by = NULL, "
        "description = coalesce(%s, description) WHERE gateway_id = %s",
        (caller.principal.sub, account.username, account.client_id, description, gateway_id),
    )
    await audit.record(
        conn,
        caller,
        Action.CREATE,
        f"gateways/{gateway_id}/enrollment",
        details={
            "broker_username": account.username,
            "broker_client_id": account.client_id,
            "expires_at": expires["expires_at"].isoformat(),
            "codes_cancelled": cancelled,
            "re_enrolled": row is not None,
        },
    )
    log.info("gateway_enrolled", gateway_id=gateway_id, by=caller.principal.sub)
    return Enrollment(gateway_id=gateway_id, code=code, expires_at=expires["expires_at"], bundle=bundle)


async def _cancel_codes(conn: Connection, gateway_id: str) -> int:
    cursor = await conn.execute(
        "UPDATE enrollment_codes SET cancelled_at = now(), sealed_bundle = NULL "
        "WHERE gateway_id = %s AND redeemed_at IS NULL AND cancelled_at IS NULL",
        (gateway_id,),
    )
    return cursor.rowcount


async def revoke(
    conn: Connection,
    open_broker: BrokerAdminFactory | None,
    *,
    gateway_id: str,
    caller: Caller,
    reason: str | None = None,
) -> Revocation:
    """Remove the gateway's broker access at once and cancel its unredeemed codes.

    Revoking again is allowed (the broker step runs again: a retry after a partial failure).
    ``reason`` (the web page asks for one) goes into the audit row's details."""
    broker = _require_broker(open_broker)
    row = await (
        await conn.execute("SELECT revoked_at FROM gateways WHERE gateway_id = %s FOR UPDATE", (gateway_id,))
    ).fetchone()
    if row is None:
        raise NotFound("gateway", gateway_id)
    await _broker_call("delete the broker account", gateway_id, _revoke, broker, gateway_id)
    already = row["revoked_at"] is not None
    updated = await (
        await conn.execute(
            "UPDATE gateways SET revoked_at = coalesce(revoked_at, now()), "
            "revoked_by = coalesce(revoked_by, %s) WHERE gateway_id = %s RETURNING revoked_at",
            (caller.principal.sub, gateway_id),
        )
    ).fetchone()
    assert updated is not None  # noqa: S101 - the row is locked above
    cancelled = await _cancel_codes(conn, gateway_id)
    await audit.record(
        conn,
        caller,
        Action.UPDATE,
        f"gateways/{gateway_id}/revoke",
        details={"codes_cancelled": cancelled, "already_revoked": already}
        | ({"reason": reason} if reason else {}),
    )
    log.warning("gateway_revoked", gateway_id=gateway_id, by=caller.principal.sub, codes_cancelled=cancelled)
    return Revocation(gateway_id, updated["revoked_at"], cancelled, already)


_RECENT_FAILURES = """
SELECT count(*) FILTER (WHERE client_address IS NOT DISTINCT FROM %(client)s) AS mine, count(*) AS total
FROM enrollment_attempts
WHERE at > clock_timestamp() - interval '1 minute' AND outcome <> 'redeemed'
"""


async def _attempt(
    conn: Connection, client: str | None, outcome: AttemptOutcome, gateway_id: str | None
) -> None:
    await conn.execute(
        "INSERT INTO enrollment_attempts (client_address, outcome, gateway_id) VALUES (%s, %s, %s)",
        (client, str(outcome), gateway_id),
    )


async def _refuse(
    conn: Connection, client: str | None, outcome: AttemptOutcome, gateway_id: str | None, error: Exception
) -> Exception:
    """Record the failed attempt for good (the refusal that follows rolls the rest back)."""
    await _attempt(conn, client, outcome, gateway_id)
    await conn.commit()
    log.warning("enrollment_redeem_refused", outcome=str(outcome), gateway_id=gateway_id, client=client)
    return error


async def redeem(
    conn: Connection, policy: EnrollmentPolicy, *, code: str, client_address: str | None
) -> EnrollmentBundle:
    """The bundle behind ``code``, once. Refusals are typed (404, 409, 410, 429)."""
    counts = await (await conn.execute(_RECENT_FAILURES, {"client": client_address})).fetchone()
    assert counts is not None  # noqa: S101 - an aggregate always returns a row
    if counts["mine"] >= policy.redeem_per_minute or counts["total"] >= policy.redeem_per_minute_total:
        log.warning("enrollment_redeem_rate_limited", client=client_address, recent_failures=counts["mine"])
        raise TooManyAttempts(
            f"too many wrong enrollment codes in the last minute (at most {policy.redeem_per_minute} per "
            "address); wait a minute, then type the code again carefully",
            retry_after_s=60,
        )
    key = code_hash(code)  # 422 for what cannot be a code; not counted
    row = await (
        await conn.execute(
            "SELECT id, gateway_id, sealed_bundle, seal_salt, expires_at, redeemed_at, redeemed_from, "
            "cancelled_at, expires_at < now() AS expired FROM enrollment_codes WHERE code_hash = %s "
            "FOR UPDATE",
            (key,),
        )
    ).fetchone()
    if row is None:
        raise await _refuse(conn, client_address, AttemptOutcome.UNKNOWN, None, UnknownCode(
            "no enrollment code like this exists on this hub: check each character (0/O and 1/I/L "
            "are the same), and that --hub names the hub that issued it"
        ))
    gateway_id = row["gateway_id"]
    if row["redeemed_at"] is not None:
        raise await _refuse(conn, client_address, AttemptOutcome.USED, gateway_id, CodeAlreadyUsed(
            f"this code was already used, at {row['redeemed_at'].isoformat()} from "
            f"{row['redeemed_from'] or 'an unknown address'}; a code works once. If that was not you, "
            f"ask the hub's operator to revoke gateway {gateway_id} and enroll it again",
            gateway_id=gateway_id,
        ))
    if row["cancelled_at"] is not None:
        raise await _refuse(conn, client_address, AttemptOutcome.CANCELLED, gateway_id, CodeCancelled(
            f"this code was cancelled at {row['cancelled_at'].isoformat()} (gateway {gateway_id} was "
            "revoked or enrolled again); ask the hub's operator for the current code",
            gateway_id=gateway_id,
        ))
    if row["expired"]:
        raise await _refuse(conn, client_address, AttemptOutcome.EXPIRED, gateway_id, CodeExpired(
            f"this code expired at {row['expires_at'].isoformat()}; ask the hub's operator to revoke "
            f"gateway {gateway_id} and enroll it again for a new code",
            gateway_id=gateway_id,
        ))
    try:
        opened = await asyncio.to_thread(unseal, bytes(row["sealed_bundle"]), code, bytes(row["seal_salt"]))
    except SealBroken as error:  # the hash matched, so the row was altered: say so, keep it
        log.exception("enrollment_bundle_corrupt", gateway_id=gateway_id, code_id=row["id"])
        raise ServiceUnavailable(
            f"the stored enrollment of gateway {gateway_id} is damaged; ask the operator to enroll it again"
        ) from error
    bundle = EnrollmentBundle.model_validate_json(opened)
    await conn.execute(
        "UPDATE enrollment_codes SET redeemed_at = now(), redeemed_from = %s, sealed_bundle = NULL "
        "WHERE id = %s",
        (client_address, row["id"]),
    )
    await _attempt(conn, client_address, AttemptOutcome.REDEEMED, gateway_id)
    log.info("enrollment_redeemed", gateway_id=gateway_id, client=client_address)
    return bundle


async def bind_device(
    conn: Connection, *, device_id: int, gateway_id: str, release_quarantined: bool, caller: Caller
) -> Binding:
    """An admin moves a device to another gateway (a re-bind; ingest never re-binds by itself).

    With ``release_quarantined``, the device's readings that were quarantined because they came
    through this gateway become ordinary readings and go to the citizen an assignment gives
    them (as the unassigned queue's assign does: no alerts for history)."""
    device = await (
        await conn.execute("SELECT bound_gateway_id FROM devices WHERE id = %s FOR UPDATE", (device_id,))
    ).fetchone()
    if device is None:
        raise NotFound("device", device_id)
    gateway = await (
        await conn.execute("SELECT revoked_at FROM gateways WHERE gateway_id = %s", (gateway_id,))
    ).fetchone()
    if gateway is None:
        raise NotFound("gateway", gateway_id)
    if gateway["revoked_at"] is not None:
        raise Conflict(f"gateway {gateway_id} is revoked; bind the device to a gateway that is enrolled")
    await conn.execute(
        "UPDATE devices SET bound_gateway_id = %s, bound_at = now(), bound_by = %s WHERE id = %s",
        (gateway_id, f"{BindingSource.ADMIN}:{caller.principal.sub}", device_id),
    )
    released = 0
    if release_quarantined:
        cursor = await conn.execute(
            "UPDATE readings SET quarantine_reason = NULL WHERE device_id = %s AND gateway_id = %s "
            "AND quarantine_reason = 'device_bound_to_other_gateway'",
            (device_id, gateway_id),
        )
        released = cursor.rowcount
        await conn.execute(
            "SELECT assign_unassigned_readings(id) FROM device_assignments WHERE device_id = %s", (device_id,)
        )
    await audit.record(
        conn,
        caller,
        Action.UPDATE,
        f"devices/{device_id}/gateway",
        details={"from": device["bound_gateway_id"], "to": gateway_id, "released": released},
    )
    return Binding(device_id, device["bound_gateway_id"], gateway_id, released)
