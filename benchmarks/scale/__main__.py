"""``python -m benchmarks.scale``: the same command as ``homevitals bench scale``."""

from benchmarks.scale.cli import app

app(prog_name="python -m benchmarks.scale")
