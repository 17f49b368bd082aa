"""``homevitals ingest``: command group of the ingest service."""

from __future__ import annotations

import typer

app = typer.Typer(help="The ingest service.", no_args_is_help=True)
