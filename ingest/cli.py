"""``homevitals ingest``: command group of the ingest service."""

from __future__ import annotations

import gc
import signal
from types import FrameType
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ingest.service import IngestService
    from ingest.settings import IngestSettings

app = typer.Typer(help="The ingest service: MQTT readings into TimescaleDB.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The ingest service: MQTT readings into TimescaleDB (docs/ingest.md)."""


def _tune_gc() -> None:
    """Fewer, cheaper garbage collections: ingest allocates a few objects per reading and keeps
    thousands alive in its buffer, which the default thresholds rescan over and over. Freezing
    what startup allocated and collecting the young generation less often cut validation CPU
    by roughly a third here (docs/benchmarks.md)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _service(*, retire: bool) -> tuple[IngestService, IngestSettings]:
    from homevitals.errors import ConfigurationError  # noqa: PLC0415 - keep `--help` fast
    from homevitals.logging import configure_logging  # noqa: PLC0415
    from ingest.service import IngestService  # noqa: PLC0415
    from ingest.settings import IngestSettings  # noqa: PLC0415

    settings = IngestSettings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        settings.check_mqtt_password()
    except ConfigurationError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from error
    service = IngestService(settings, retire=retire)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        service.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return service, settings


@app.command()
def run() -> None:
    """Run one ingest worker until SIGTERM/SIGINT. Configured by INGEST_* variables."""
    service, _ = _service(retire=False)
    _tune_gc()
    service.start()
    raise typer.Exit(code=service.run_forever())


@app.command()
def retire(
    idle: float = typer.Option(5.0, help="Seconds without a message that mean the queue is empty."),
) -> None:
    """Decommission a worker for good: store what the broker queued for its session
    (INGEST_MQTT_CLIENT_ID), then make the broker forget the session.

    A stopped worker stays a member of the shared subscription, and the broker keeps routing
    its share of the messages to its queue until it returns or is retired (docs/mosquitto.md).
    """
    service, _ = _service(retire=True)
    service.start()
    raise typer.Exit(code=service.run_until_idle(idle))
