"""``homevitals bench``: benchmarks that start real services."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks against real Mosquitto and TimescaleDB.", no_args_is_help=True)
