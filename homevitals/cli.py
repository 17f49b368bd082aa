"""The ``homevitals`` command line.

Each service contributes its command group through the ``homevitals.commands`` entry-point
group (see pyproject.toml), so the core never imports a service. A group whose extra is not
installed (the Pi has no server packages) is listed with a hint instead of failing.
"""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint, entry_points

import typer

from homevitals import __version__

app = typer.Typer(
    name="homevitals",
    help="homevitals: home vital signs from BLE monitors to clinicians.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ENTRY_POINT_GROUP = "homevitals.commands"


def _missing_extra(name: str, error: ImportError) -> typer.Typer:
    group = typer.Typer(help=f"[unavailable: {error.name} not installed]")

    @group.callback(invoke_without_command=True)
    def unavailable() -> None:
        typer.echo(
            f"'homevitals {name}' needs a package that is not installed ({error.name}). "
            "Install the matching extra, e.g. pip install 'homevitals[server]'.",
            err=True,
        )
        raise typer.Exit(code=3)

    return group


def _not_installed(name: str, package: str) -> typer.Typer:
    group = typer.Typer(help=f"[unavailable: {package} is not installed]")

    @group.callback(invoke_without_command=True)
    def unavailable() -> None:
        typer.echo(
            f"'homevitals {name}' is not part of the installed package ({package} ships only in a "
            "source checkout). Run it from a checkout: pip install -e '.[dev,server,gateway,sim]'.",
            err=True,
        )
        raise typer.Exit(code=3)

    return group


def _register(entry_point: EntryPoint) -> None:
    try:
        target = entry_point.load()
    except ImportError as error:
        own_module = entry_point.value.split(":")[0].split(".")[0]
        if error.name == own_module:  # the whole package is absent: benchmarks/ is not in the wheel
            app.add_typer(_not_installed(entry_point.name, own_module), name=entry_point.name)
            return
        if error.name is not None and error.name.split(".")[0] == own_module:
            raise  # our own code is broken: show the real traceback
        app.add_typer(_missing_extra(entry_point.name, error), name=entry_point.name)
        return
    if isinstance(target, typer.Typer):
        app.add_typer(target, name=entry_point.name)
    else:
        app.command(name=entry_point.name)(target)


def build_app(only: str | None = None) -> typer.Typer:
    """Attach the installed command groups to the root app (once).

    ``only`` loads just that group: ``homevitals gateway run`` on a Pi then never imports
    the server packages, and every command starts faster.
    """
    if not getattr(app, "_homevitals_loaded", False):
        available = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
        if only is not None and any(e.name == only for e in available):
            available = [e for e in available if e.name == only]
        for entry_point in available:
            _register(entry_point)
        app._homevitals_loaded = True  # type: ignore[attr-defined]
    return app


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit


def main() -> None:
    arguments = [a for a in sys.argv[1:] if not a.startswith("-")]
    build_app(only=arguments[0] if arguments else None)(prog_name="homevitals")


if __name__ == "__main__":  # pragma: no cover
    main()
