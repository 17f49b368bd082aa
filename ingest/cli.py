"""``homevitals ingest``: command group of the ingest service."""

from __future__ import annotations

import signal
from types import FrameType

import typer

app = typer.Typer(help="The ingest service: MQTT readings into TimescaleDB.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The ingest service: MQTT readings into TimescaleDB (docs/ingest.md)."""


@app.command()
def run() -> None:
    """Run one ingest worker until SIGTERM/SIGINT. Configured by INGEST_* variables."""
    from homevitals.errors import ConfigurationError  # noqa: PLC0415 - keep `--help` fast
    from homevitals.logging import configure_logging  # noqa: PLC0415
    from ingest.service import IngestService  # noqa: PLC0415
    from ingest.settings import IngestSettings  # noqa: PLC0415

    settings = IngestSettings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        if settings.mqtt_username is not None:
            settings.require_secret("INGEST_MQTT_PASSWORD", settings.mqtt_password)
    except ConfigurationError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from error
    service = IngestService(settings)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        service.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    service.start()
    raise typer.Exit(code=service.run_forever())
