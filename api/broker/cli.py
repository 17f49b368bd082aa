"""``homevitals broker``: set up the hub's broker accounts, list gateways, rotate a password."""

from __future__ import annotations

import time

import typer

from homevitals.errors import ConfigurationError, HomevitalsError

app = typer.Typer(help="The MQTT broker's accounts (Mosquitto dynamic security).", no_args_is_help=True)


def _fail(error: HomevitalsError) -> typer.Exit:
    prefix = "configuration error" if isinstance(error, ConfigurationError) else "error"
    typer.echo(f"{prefix}: {error}", err=True)
    return typer.Exit(code=2 if isinstance(error, ConfigurationError) else 1)


@app.command()
def init(
    wait: float = typer.Option(60.0, min=0, help="Keep trying to reach the broker this many seconds."),
) -> None:
    """Narrow the admin role, create the ingest (and listed gateway) accounts; API_BROKER_*, idempotent."""
    from api.broker.bootstrap import bootstrap  # noqa: PLC0415 - keep `homevitals --help` fast
    from api.broker.errors import BrokerAdminUnavailable  # noqa: PLC0415
    from api.broker.settings import BrokerAdminSettings  # noqa: PLC0415

    try:
        settings = BrokerAdminSettings()
        accounts = settings.hub_accounts()
        deadline = time.monotonic() + wait
        while True:
            try:
                with settings.admin() as admin:
                    bootstrap(admin, accounts, progress=lambda line: typer.echo(f"broker init: {line}"))
                break
            except BrokerAdminUnavailable as error:
                if time.monotonic() >= deadline:
                    raise
                typer.echo(f"broker init: waiting for the broker ({error.reason})", err=True)
                time.sleep(1.0)
    except HomevitalsError as error:
        raise _fail(error) from error
    typer.echo("broker init: done")


@app.command()
def gateways() -> None:
    """List the gateway ids that have a broker account."""
    from api.broker.settings import BrokerAdminSettings  # noqa: PLC0415

    try:
        with BrokerAdminSettings().admin() as admin:
            for gateway_id in admin.gateway_accounts():
                typer.echo(gateway_id)
    except HomevitalsError as error:
        raise _fail(error) from error


@app.command("set-password")
def set_password(
    username: str = typer.Argument(..., help="The account, e.g. hub_admin or hub_ingest_1."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                 envvar="API_BROKER_NEW_PASSWORD", help="The new password."),
) -> None:
    """Give an account a new password (the broker disconnects its sessions)."""
    from pydantic import SecretStr  # noqa: PLC0415

    from api.broker.settings import BrokerAdminSettings  # noqa: PLC0415

    try:
        settings = BrokerAdminSettings()
        settings.require_secret("API_BROKER_NEW_PASSWORD", password)
        with settings.admin() as admin:
            admin.set_password(username, SecretStr(password))
    except HomevitalsError as error:
        raise _fail(error) from error
    typer.echo(f"broker: new password set for {username}")
