"""``homevitals demo``: the whole hub plus simulated homes, natively (no Docker)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import typer

from devstack.demo.orchestrator import Demo, DemoConfig
from homevitals.errors import HomevitalsError

app = typer.Typer(help="The native demo: hub and simulated homes on this machine.", no_args_is_help=True)


def _say(text: str) -> None:
    typer.echo(text, err=True)


@app.command()
def run(
    data_dir: Path = typer.Option(Path("var/demo"), "--data-dir", help="Kept between runs."),
    citizens: int = typer.Option(20, "--citizens", min=1, max=200),
    speed: float = typer.Option(600.0, "--speed", help="Simulated seconds per wall second."),
    history_days: int = typer.Option(7, "--history-days", min=0, max=60),
    postgres_port: int = typer.Option(55432, "--postgres-port"),
    mqtt_port: int = typer.Option(18830, "--mqtt-port"),
    api_port: int = typer.Option(8000, "--api-port"),
    metrics_port: int = typer.Option(9108, "--metrics-port"),
    duration: float | None = typer.Option(None, "--duration", help="Stop after N seconds."),
) -> None:
    """Start PostgreSQL+TimescaleDB, Mosquitto, migrations, ingest, the API and simulated homes."""
    config = DemoConfig(
        data_dir=data_dir,
        citizens=citizens,
        speed=speed,
        history_days=history_days,
        postgres_port=postgres_port,
        mqtt_port=mqtt_port,
        api_port=api_port,
        metrics_port=metrics_port,
        duration=duration,
    )
    demo = Demo(config, _say)
    signal.signal(signal.SIGINT, demo.request_stop)
    signal.signal(signal.SIGTERM, demo.request_stop)
    try:
        info = demo.start()
        _print_summary(info, demo.dir)
        demo.wait()
    except HomevitalsError as error:
        _say(f"demo failed: {error}")
        raise typer.Exit(code=1) from error
    finally:
        demo.stop()


def _print_summary(info: dict[str, object], data_dir: Path) -> None:
    database = info["database"]
    if not isinstance(database, dict):  # pragma: no cover - built by Demo.start
        raise TypeError("demo info lacks the database section")
    web_logins = info["web_logins"]
    logins = "; ".join(str(x) for x in web_logins) if isinstance(web_logins, list) else ""
    typer.echo(f"""
homevitals demo is running.

  Web app         {info["web_url"]}   (log in as: {logins})
  API             {info["api_url"]}   (OpenAPI: {info["openapi"]})
  Clinician token {info["clinician_token"]}
  Try:            curl -H "Authorization: Bearer $TOKEN" {info["api_url"]}/api/v1/citizens
  Metrics         {info["metrics"]}
  MQTT            {json.dumps(info["mqtt"])}

Grafana: add a PostgreSQL data source (TimescaleDB on) with host {database["host"]}:{database["port"]},
database {database["database"]}, user {database["grafana_user"]} (read-only views in schema grafana),
SSL off, then import dashboards/generated/da/*.json, or run
  homevitals dashboards sync --url http://GRAFANA:3000 --token SERVICE_ACCOUNT_TOKEN

Details (citizen ids, token): {data_dir / "demo.json"}. Logs: {data_dir / "logs"}.
Press Ctrl-C to stop everything.
""")
