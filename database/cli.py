"""``homevitals db``: database migrations."""

from __future__ import annotations

import typer

from homevitals.settings import DatabaseSettings

app = typer.Typer(help="Database: migrations and roles.", no_args_is_help=True)

DSN_OPTION = typer.Option(
    None,
    "--dsn",
    help="libpq URL of the database; default: $HOMEVITALS_DATABASE_URL.",
    show_default=False,
)


def _dsn(dsn: str | None) -> str:
    return dsn or DatabaseSettings().database_url


@app.command()
def migrate(dsn: str | None = DSN_OPTION) -> None:
    """Apply pending migrations. A second run does nothing."""
    from database.migrate import migrate as run_migrations  # noqa: PLC0415 - server extra

    try:
        applied = run_migrations(_dsn(dsn), progress=lambda msg: typer.echo(msg, err=True))
    except Exception as error:  # any driver or SQL error: explain and exit non-zero
        typer.echo(
            f"migration failed: {error}\n"
            "Check the DSN, that the role may create extensions, and that TimescaleDB is in "
            "shared_preload_libraries (see README troubleshooting).",
            err=True,
        )
        raise typer.Exit(code=1) from error
    if applied:
        typer.echo(f"database migrated to {applied[-1]} ({len(applied)} applied)")
    else:
        typer.echo("database already at the latest revision; nothing to do")


@app.command()
def revision(dsn: str | None = DSN_OPTION) -> None:
    """Print the database's current and the code's head revision."""
    from database.migrate import current_revision, head_revision  # noqa: PLC0415

    typer.echo(f"database: {current_revision(_dsn(dsn)) or 'empty'}  code: {head_revision()}")
