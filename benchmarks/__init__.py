"""Benchmarks of homevitals against real services; ``homevitals bench`` (docs/benchmarks.md).

Not part of the wheel: they run from a source checkout (the editable install), and no
service imports them. Each subcommand's module is imported only when it runs
(benchmarks/cli.py).
"""
