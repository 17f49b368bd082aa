"""``homevitals api``: command group of the api service."""

from __future__ import annotations

import typer

app = typer.Typer(help="The api service.", no_args_is_help=True)
