"""``homevitals dashboards``: command group of the dashboards service."""

from __future__ import annotations

import typer

app = typer.Typer(help="The dashboards service.", no_args_is_help=True)
