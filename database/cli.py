"""``homevitals db``: database migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer

from homevitals.settings import DatabaseSettings

app = typer.Typer(help="Database: migrations, roles and retention.", no_args_is_help=True)

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


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="The revision to go back to (e.g. 0008), or 'base' for none."),
    yes: bool = typer.Option(False, "--yes", help="Confirm: a downgrade drops what later migrations added."),
    dsn: str | None = DSN_OPTION,
) -> None:
    """Undo migrations down to REVISION, for rolling back a release. Each migration's down.sql
    restores exactly the schema its upgrade found (tests/core/test_migration_roundtrip.py);
    data in the tables and columns a later migration added is dropped with them."""
    from database.migrate import current_revision  # noqa: PLC0415 - server extra
    from database.migrate import downgrade as run_downgrade  # noqa: PLC0415 - server extra

    url = _dsn(dsn)
    before = current_revision(url)
    if not yes:
        typer.echo(
            f"database is at {before or 'base'}; going down to {revision} drops what the later "
            "migrations added, with its data. Back up first (pg_dump), then run again with --yes.",
            err=True,
        )
        raise typer.Exit(code=2)
    try:
        run_downgrade(url, revision)
    except Exception as error:  # any driver, SQL or unknown-revision error: explain and exit non-zero
        typer.echo(f"downgrade failed, the failing migration was rolled back: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(f"database downgraded from {before or 'base'} to {current_revision(url) or 'base'}")


def _older_than(text: str | None, years: int) -> datetime:
    """``--older-than``: an ISO date or time (UTC unless it says otherwise), or a span back from
    now as ``3650d`` / ``10y``; default: the retention period back from now."""
    now = datetime.now(UTC)
    value = (text or f"{years}y").strip().lower()
    if value[:-1].isdigit() and value[-1:] in {"d", "y"}:
        days = int(value[:-1]) * (1 if value.endswith("d") else 365.25)
        return now - timedelta(days=round(days))
    try:
        moment = datetime.fromisoformat(value.upper() if "t" in value else value)
    except ValueError as error:
        raise typer.BadParameter(
            f"{text!r} is neither a date (2016-01-01), a time (2016-01-01T00:00:00+01:00) nor a span "
            "(3650d, 10y)"
        ) from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@app.command()
def retention(
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        help="Drop readings measured before this date, time or span (3650d, 10y); "
        "default: $HOMEVITALS_RETENTION_YEARS (10) years ago.",
        show_default=False,
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the chunks that would go; change nothing."),
    dsn: str | None = DSN_OPTION,
) -> None:
    """Drop readings older than the retention period (whole 7-day chunks), with their raw bytes,
    ledger rows and conflicts; keeps the summary tables exact (docs/database.md, "Retention")."""
    import psycopg  # noqa: PLC0415 - server extra

    from database.retention import (  # noqa: PLC0415 - server extra
        RetentionSettings,
        apply_retention,
        chunks_older_than,
        readings_before,
    )

    settings = RetentionSettings()
    cutoff = _older_than(older_than, settings.retention_years)
    url = dsn or settings.database_url
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            chunks = chunks_older_than(conn, cutoff)
            typer.echo(
                f"cut-off {cutoff.isoformat()}: {len(chunks)} chunk(s) of readings lie entirely before it"
            )
            for chunk in chunks:
                typer.echo(
                    f"  {chunk.name}  {chunk.range_start:%Y-%m-%d} .. {chunk.range_end:%Y-%m-%d}  "
                    f"~{chunk.estimated_rows:,} readings  {chunk.total_bytes / 1e6:,.1f} MB"
                )
            if chunks:
                total = readings_before(conn, max(c.range_end for c in chunks))
                typer.echo(f"  {total:,} readings in all")
            if dry_run:
                typer.echo("dry run: nothing changed")
                return
            result = apply_retention(conn, cutoff)
    except psycopg.Error as error:
        typer.echo(f"retention failed, nothing was dropped: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(
        f"dropped {len(result.chunks)} chunk(s): {result.readings:,} readings with their raw bytes, "
        f"{result.ledger_rows:,} ledger rows, {result.conflicts:,} conflicts; "
        f"{result.dead_letters:,} dead letters; summaries recomputed for "
        f"{result.citizens_recomputed:,} citizen(s)"
    )
