"""``homevitals gateway``: command group of the gateway service."""

from __future__ import annotations

import typer

app = typer.Typer(help="The gateway service.", no_args_is_help=True)
