"""``homevitals simulate``: run a household of virtual BLE health devices from a scenario."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from homevitals.logging import configure_logging
from simulator.errors import ScenarioError
from simulator.runner import run_household
from simulator.scenario import load_scenario


def simulate(
    scenario: Path = typer.Option(..., "--scenario", help="scenario YAML file"),
    speed: float = typer.Option(
        1.0, "--speed", min=0.001, help="simulated seconds per wall second (3600: 1 h/s)"
    ),
    duration: float | None = typer.Option(None, "--duration", help="stop after N wall seconds"),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR"),
    log_format: str = typer.Option("json", "--log-format", help="json or console"),
) -> None:
    """Run a household of virtual BLE health devices and log each measurement they make."""
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=2) from error
    configure_logging(log_level, "console" if log_format == "console" else "json")
    try:
        asyncio.run(run_household(loaded, speed=speed, duration=duration))
    except KeyboardInterrupt:
        raise typer.Exit(code=130) from None
