"""``python -m ingest run``: the same as ``homevitals ingest run`` (used by the benchmark)."""

from ingest.cli import app

app(prog_name="homevitals ingest")
