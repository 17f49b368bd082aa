"""``homevitals dashboards``: build the dashboards' JSON and sync them into Grafana."""

from __future__ import annotations

import typer

app = typer.Typer(help="Grafana dashboards: build the JSON, sync to Grafana.", no_args_is_help=True)

LANG_OPTION = typer.Option(None, "--lang", help="da (default) or en.", show_default=False)


@app.callback()
def _group() -> None:
    """Grafana dashboards as code (docs/dashboards.md)."""


@app.command()
def build(
    lang: str | None = typer.Option(
        None, "--lang", help="Only this language (da or en); default: both.", show_default=False
    ),
    check: bool = typer.Option(
        False, "--check", help="Change nothing; exit 1 if the committed JSON is stale."
    ),
) -> None:
    """Regenerate dashboards/generated/<lang>/*.json from the code."""
    from dashboards.build import GENERATED_DIR, generate, render, write_generated  # noqa: PLC0415
    from dashboards.errors import UnknownLanguageError  # noqa: PLC0415
    from dashboards.i18n import LANGUAGES, parse_lang  # noqa: PLC0415

    try:
        languages = LANGUAGES if lang is None else (parse_lang(lang),)
    except UnknownLanguageError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from error
    if check:
        stale = [
            f"{code}/{name}.json"
            for code in languages
            for name, dashboard in generate(code).items()
            if not (GENERATED_DIR / code / f"{name}.json").exists()
            or (GENERATED_DIR / code / f"{name}.json").read_text(encoding="utf-8") != render(dashboard)
        ]
        if stale:
            typer.echo("stale, run `homevitals dashboards build`: " + ", ".join(stale), err=True)
            raise typer.Exit(code=1)
        typer.echo("generated JSON is up to date")
        return
    for path in write_generated(languages=languages):
        typer.echo(str(path))


@app.command()
def sync(
    url: str | None = typer.Option(None, "--url", help="Grafana URL; default: $DASHBOARDS_GRAFANA_URL."),
    token: str | None = typer.Option(
        None, "--token", help="Service-account token; default: $DASHBOARDS_GRAFANA_TOKEN.", show_default=False
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would change."),
    lang: str | None = LANG_OPTION,
    rotate_password: bool = typer.Option(
        False, "--rotate-password", help="Send the database password even if Grafana has one."
    ),
) -> None:
    """Upsert the folder, the data source and the dashboards. Idempotent."""
    from pydantic import ValidationError  # noqa: PLC0415

    from dashboards.build import generate  # noqa: PLC0415
    from dashboards.common import with_web_url  # noqa: PLC0415
    from dashboards.errors import DashboardsError  # noqa: PLC0415
    from dashboards.grafana_objects import DatasourceSpec, FolderSpec  # noqa: PLC0415
    from dashboards.i18n import DEFAULT_LANG, parse_lang  # noqa: PLC0415
    from dashboards.settings import DashboardsSettings  # noqa: PLC0415
    from dashboards.sync import GrafanaSync, summary  # noqa: PLC0415
    from homevitals.errors import ConfigurationError  # noqa: PLC0415
    from homevitals.logging import configure_logging  # noqa: PLC0415

    try:
        settings = DashboardsSettings()
    except ValidationError as error:
        problems = "; ".join(
            f"DASHBOARDS_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        typer.echo(f"sync failed: {problems}", err=True)
        raise typer.Exit(code=2) from error
    configure_logging(settings.log_level, settings.log_format)
    grafana_url = url or settings.grafana_url
    grafana_token = token or settings.grafana_token
    if not grafana_url or not grafana_token:
        typer.echo("sync needs --url and --token (or DASHBOARDS_GRAFANA_URL/_TOKEN)", err=True)
        raise typer.Exit(code=2)
    try:
        settings.require_secret("HOMEVITALS_GRAFANA_DB_PASSWORD", settings.db_password)
        code = DEFAULT_LANG if lang is None else parse_lang(lang)
        datasource = DatasourceSpec(
            url=settings.db_url, database=settings.db_name, user=settings.db_user, sslmode=settings.db_sslmode
        )
        syncer = GrafanaSync.connect(grafana_url, grafana_token)
        steps = syncer.plan(
            folder=FolderSpec(),
            datasource=datasource,
            password=settings.db_password,
            dashboards={
                name: with_web_url(board, settings.web_url) if settings.web_url else board
                for name, board in generate(code).items()
            },
            rotate_password=rotate_password,
        )
        for step in steps:
            typer.echo(step.describe())
        if not dry_run:
            syncer.apply(steps)
        typer.echo(summary(steps, dry_run=dry_run))
    except (DashboardsError, ConfigurationError) as error:
        typer.echo(f"sync failed: {error}", err=True)
        raise typer.Exit(code=1) from error


if __name__ == "__main__":  # pragma: no cover - `python -m dashboards.cli`, without the root CLI
    app()
