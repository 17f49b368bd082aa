"""``homevitals api``: run the API, mint development tokens, print the OpenAPI spec."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import typer

from homevitals.errors import ConfigurationError

app = typer.Typer(help="The API service (FastAPI): run it, mint dev tokens.", no_args_is_help=True)


def _settings(**overrides: Any) -> Any:
    from api.settings import ApiSettings  # noqa: PLC0415 - keep `homevitals --help` fast

    return ApiSettings(**{k: v for k, v in overrides.items() if v is not None})


def _broker_admin() -> Any:
    """Broker admin sessions for enrollment (API_BROKER_*), or None when not configured."""
    from api.broker.settings import BrokerAdminSettings  # noqa: PLC0415
    from api.enrollment.broker import broker_admin_from  # noqa: PLC0415

    return broker_admin_from(BrokerAdminSettings())


def _web_settings() -> Any:
    from web.settings import WebSettings  # noqa: PLC0415

    return WebSettings()


@app.command()
def run(
    host: str | None = typer.Option(None, help="Default: $API_HOST (127.0.0.1)."),
    port: int | None = typer.Option(None, help="Default: $API_PORT (8000)."),
    workers: int = typer.Option(1, min=1, max=32, help="uvicorn worker processes."),
) -> None:
    """Serve the API with uvicorn, configured by API_* variables (docs/api.md)."""
    import uvicorn  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415
    from homevitals.logging import configure_logging  # noqa: PLC0415

    settings = _settings(host=host, port=port)
    configure_logging(settings.log_level, settings.log_format)
    try:
        settings.verifier_config()
        web = _web_settings()
        web.check()
    except ConfigurationError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(code=2) from error
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # keep our structlog setup
        "access_log": False,  # the request middleware logs one line per request
        "server_header": False,  # no `server: uvicorn`
        # X-Forwarded-For/-Proto only from the configured proxies; by default from nobody.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": settings.trusted_proxies,
    }
    if workers > 1:
        # Each worker builds its own app (and pool) from the environment.
        uvicorn.run("api.cli:app_from_environment", factory=True, workers=workers, **common)
    else:
        uvicorn.run(create_app(settings, web=web, broker_admin=_broker_admin()), **common)


def app_from_environment() -> Any:
    """uvicorn factory for worker processes: each reads API_* and builds its own app and pool."""
    from api.app import create_app  # noqa: PLC0415
    from homevitals.logging import configure_logging  # noqa: PLC0415

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, web=_web_settings(), broker_admin=_broker_admin())


@app.command()
def token(
    role: str = typer.Option(..., help="citizen, caregiver, clinician or admin."),
    sub: str = typer.Option(..., help="Who the token speaks for (user name)."),
    team: str | None = typer.Option(None, help="Care team (caregivers)."),
    citizen: int | None = typer.Option(None, help="Citizen id (citizens)."),
    ttl: int | None = typer.Option(None, help="Lifetime in seconds; default $API_DEV_TOKEN_TTL_S."),
) -> None:
    """Mint an HS256 development token with API_JWT_SECRET and print it."""
    from api.auth import mint_dev_token  # noqa: PLC0415
    from api.errors import NotAuthenticated  # noqa: PLC0415
    from api.roles import Role  # noqa: PLC0415

    settings = _settings()
    secret = settings.hs256_secret()
    if secret is None:
        typer.echo(
            "API_JWT_SECRET is not set, so this API accepts no HS256 tokens: set it (at least 32 "
            "bytes, e.g. `openssl rand -hex 32`) for development, or get tokens from the identity provider",
            err=True,
        )
        raise typer.Exit(code=2)
    try:
        chosen = Role(role)
    except ValueError:
        typer.echo(f"unknown role {role!r}; use one of {[r.value for r in Role]}", err=True)
        raise typer.Exit(code=2) from None
    try:
        minted = mint_dev_token(
            secret,
            role=chosen,
            sub=sub,
            team=team,
            citizen_id=citizen,
            ttl=timedelta(seconds=ttl or settings.dev_token_ttl_s),
            issuer=settings.issuer,
            audience=settings.audience,
        )
    except NotAuthenticated as error:
        typer.echo(f"cannot mint this token: {error.detail}", err=True)
        raise typer.Exit(code=2) from error
    typer.echo(minted)


@app.command()
def openapi() -> None:
    """Print the OpenAPI description (JSON); it does not depend on any key."""
    import secrets  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415

    throwaway_key = secrets.token_hex(32)  # the description needs an app, not a usable key
    typer.echo(json.dumps(create_app(_settings(jwt_secret=throwaway_key)).openapi(), indent=2))
