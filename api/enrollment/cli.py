"""Hub-side ``homevitals gateway enroll`` and ``homevitals gateway revoke``.

The same service code as ``POST /api/v1/gateways/{id}/enrollment`` and ``.../revoke``, run
by the operator on the hub with the API's settings (``API_DATABASE_URL``,
``API_BROKER_ADMIN_*``, ``API_ENROLL_*``), and audited as ``cli:<user>`` in the admin role.
Registered into the gateway's command group by entry point (pyproject.toml), so this module
imports nothing heavy until a command runs: on a Pi without the server extra it says so.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

if TYPE_CHECKING:
    from api.db import Connection

T = TypeVar("T")

GATEWAY_ARGUMENT = typer.Argument(..., help="Gateway id, e.g. gw-0042 ([a-z0-9][a-z0-9-]{2,63}).")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def _run(step: Callable[[Connection, Any], Awaitable[T]]) -> tuple[T, Any]:
    """Run one service step in one committed transaction, with the API's settings."""
    try:
        import psycopg  # noqa: PLC0415
        from psycopg.rows import dict_row  # noqa: PLC0415

        from api.broker.settings import BrokerAdminSettings  # noqa: PLC0415
        from api.context import Caller  # noqa: PLC0415
        from api.enrollment.broker import broker_admin_from  # noqa: PLC0415
        from api.errors import ApiError  # noqa: PLC0415
        from api.roles import Principal, Role  # noqa: PLC0415
        from api.settings import ApiSettings  # noqa: PLC0415
        from homevitals.errors import ConfigurationError  # noqa: PLC0415
    except ImportError as error:
        raise _fail(
            f"this is a hub command and needs the server packages ({error.name} is missing): run it "
            "on the hub, or install homevitals[server]",
            code=3,
        ) from error
    try:
        settings = ApiSettings()
        broker = broker_admin_from(BrokerAdminSettings())
        policy = settings.enrollment_policy()
    except (ConfigurationError, ValueError) as error:
        raise _fail(f"configuration: {error}", code=2) from error
    caller = Caller(
        principal=Principal(sub=f"cli:{getpass.getuser()}", role=Role.ADMIN),
        request_id=uuid.uuid4().hex,
        client_address=None,
    )
    context = {"broker": broker, "policy": policy, "caller": caller,
               "settings": settings}

    async def transaction() -> T:
        async with await psycopg.AsyncConnection.connect(
            settings.database_url, row_factory=dict_row, options="-c TimeZone=UTC"
        ) as conn:
            result = await step(conn, context)
            await conn.commit()
            return result

    try:
        return asyncio.run(transaction()), context
    except ApiError as error:
        raise _fail(error.detail) from error
    except psycopg.OperationalError as error:
        raise _fail(f"cannot reach the database (API_DATABASE_URL): {error}") from error


def enroll(
    gateway_id: str = GATEWAY_ARGUMENT,
    description: str | None = typer.Option(None, "--description", help="Where it is, e.g. 'Hansen, Vejle'."),
    bundle: Path | None = typer.Option(
        None, "--bundle", help="Also write the gateway's config file here (mode 0600), to copy to the Pi."
    ),
    hub_url: str | None = typer.Option(
        None, "--hub-url", help="The API's public https address, for the hint (default API_PUBLIC_BASE_URL)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print code and expiry as JSON."),
) -> None:
    """On the hub: enroll a gateway: broker account, one-time code (and config file)."""
    from homevitals.contract.models import is_valid_gateway_id  # noqa: PLC0415
    from homevitals.enrollment import GATEWAY_CONFIG_DIR  # noqa: PLC0415

    if not is_valid_gateway_id(gateway_id):
        raise _fail(f"{gateway_id!r} is not a gateway id (pattern [a-z0-9][a-z0-9-]{{2,63}})", code=2)
    if bundle is not None and bundle.exists():
        raise _fail(f"{bundle} exists; choose another path (it would hold a password)", code=2)

    async def step(conn: Connection, ctx: Any) -> Any:
        from api.enrollment import service  # noqa: PLC0415

        return await service.enroll(
            conn, ctx["broker"], ctx["policy"], gateway_id=gateway_id, description=description,
            caller=ctx["caller"],
        )

    enrollment, ctx = _run(step)
    if bundle is not None:
        _write_bundle(enrollment.bundle, bundle)
    hub = (hub_url or ctx["settings"].public_base_url or "https://<the hub's API address>").rstrip("/")
    if as_json:
        typer.echo(json.dumps({"gateway_id": gateway_id, "code": enrollment.code,
                               "expires_at": enrollment.expires_at.isoformat(),
                               "bundle": str(bundle) if bundle else None}))
        return
    typer.echo(f"Gateway {gateway_id} is enrolled. One-time code (valid until "
               f"{enrollment.expires_at:%Y-%m-%d %H:%M} UTC):\n\n    {enrollment.code}\n")
    typer.echo(f"On the gateway:  homevitals gateway join --hub {hub} {enrollment.code}")
    if bundle is not None:
        typer.echo(f"Config file written to {bundle} (mode 0600): copy it to the gateway as "
                   f"{GATEWAY_CONFIG_DIR}/gateway.toml instead of typing the code; it holds the password.")


def _write_bundle(bundle: Any, path: Path) -> None:
    from homevitals.enrollment import CA_FILE_NAME, GATEWAY_CONFIG_DIR, write_bundle_files  # noqa: PLC0415

    try:
        ca = write_bundle_files(bundle, path, ca_reference=GATEWAY_CONFIG_DIR / CA_FILE_NAME)
    except OSError as error:
        raise _fail(f"cannot write {path}: {error}; the gateway is enrolled, use its code instead") from error
    if ca is not None:
        typer.echo(f"The broker's CA is in {ca}: copy it beside the config file on the gateway.")


def revoke(gateway_id: str = GATEWAY_ARGUMENT) -> None:
    """On the hub: revoke a gateway: its broker account goes at once, its unused codes die."""

    async def step(conn: Connection, ctx: Any) -> Any:
        from api.enrollment import service  # noqa: PLC0415

        return await service.revoke(conn, ctx["broker"], gateway_id=gateway_id, caller=ctx["caller"])

    done, _ctx = _run(step)
    note = " (it was already revoked; the broker account was removed again)" if done.already_revoked else ""
    typer.echo(f"Gateway {gateway_id} revoked at {done.revoked_at:%Y-%m-%d %H:%M:%S} UTC{note}; "
               f"{done.codes_cancelled} unused code(s) cancelled. Readings still in flight from it are "
               "stored quarantined (reason gateway_revoked).")
