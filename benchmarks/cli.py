"""``homevitals bench``: one command group for every benchmark (docs/benchmarks.md).

Each subcommand here only forwards its arguments: the benchmark's module is imported when
that subcommand runs (or shows its own ``--help``). Listing the group imports none of them,
and no service ever imports this package. A subcommand whose module is not in this checkout
is listed, and says so when run.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer

# Everything after the subcommand's name, --help included, goes to the benchmark itself.
_FORWARD = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


class BenchmarkUnavailable(Exception):
    """The benchmark's module can't be imported here; ``reason`` says why and what to do."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"'homevitals bench {name}' is not available: {reason}.")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class Benchmark:
    """Where a subcommand lives: its module, and the names it may be exported under
    (a Typer app, or a function that becomes its one command)."""

    module: str
    attributes: tuple[str, ...]
    summary: str

    def load(self, name: str) -> typer.Typer:
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as error:
            missing = error.name or ""
            if self.module == missing or self.module.startswith(missing + "."):
                raise BenchmarkUnavailable(name, f"{self.module} is not in this checkout") from error
            if missing.split(".")[0] != "benchmarks":
                raise BenchmarkUnavailable(
                    name,
                    f"it needs {missing}, which is not installed "
                    "(pip install -e '.[dev,server,gateway,sim]' in the source checkout)",
                ) from error
            raise  # our own code is broken: show the real traceback
        for attribute in self.attributes:
            target: Any = getattr(module, attribute, None)
            if isinstance(target, typer.Typer):
                return target
            if callable(target):
                single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
                single.command(name)(target)
                return single
        raise BenchmarkUnavailable(name, f"{self.module} exports none of {', '.join(self.attributes)}")


BENCHMARKS: dict[str, Benchmark] = {
    "ingest": Benchmark(
        "benchmarks.ingest.cli", ("ingest",), "Ingest readings/s, latency, CPU, exact count, with baselines."
    ),
    "writer": Benchmark(
        "benchmarks.ingest.cli", ("writer",), "Write strategies on the same batches, database only."
    ),
    "validate": Benchmark(
        "benchmarks.ingest.validate", ("validate",), "Ingest's validator alone: pydantic path vs fast path."
    ),
    "api": Benchmark("benchmarks.api", ("api",), "A citizen's 90 days under concurrent API clients."),
    "gateway": Benchmark("benchmarks.gateway", ("gateway",), "Gateway outbox adds and delivery to PUBACK."),
    # Issue 17's scale benchmark: benchmarks/scale/cli.py exports the command function `scale`.
    "scale": Benchmark(
        "benchmarks.scale.cli", ("scale", "app"), "A year of 10,000 citizens: dashboards, API and ingest."
    ),
    # Issue 17's backlog: 1,000 gateways' outboxes drained through hub acks (benchmarks/backlog/).
    "backlog": Benchmark(
        "benchmarks.backlog.cli", ("backlog",), "1,000 gateways reconnect, 1 M readings in their outboxes."
    ),
}

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def bench() -> None:
    """Benchmarks against real Mosquitto and TimescaleDB (from a source checkout; docs/benchmarks.md).

    Each prints its figures as Markdown tables, with the command and the machine.
    """


def _forwarder(name: str, benchmark: Benchmark) -> None:
    def forward(ctx: typer.Context) -> None:
        try:
            target = benchmark.load(name)
        except BenchmarkUnavailable as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(code=3) from error
        target(ctx.args, prog_name=f"homevitals bench {name}")

    forward.__doc__ = benchmark.summary
    app.command(name, context_settings=_FORWARD, add_help_option=False)(forward)


for _name, _benchmark in BENCHMARKS.items():
    _forwarder(_name, _benchmark)
