"""``homevitals gateway``: run the service, pair devices, and look at its state.

Configuration comes from ``GATEWAY_*`` environment variables or ``--config FILE.toml``
(docs/gateway.md lists every setting). Exit codes: 0 success, 1 a failure the message
explains, 2 bad configuration.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import typer

from gateway.allowlist import AllowedDevice, AllowList, normalize_address
from gateway.backends import BleBackend, backend_plugin, open_backend
from gateway.outbox import Outbox
from gateway.settings import GatewaySettings, load_settings
from homevitals.enrollment import GATEWAY_CONFIG_DIR
from homevitals.errors import ConfigurationError, HomevitalsError
from homevitals.logging import configure_logging

app = typer.Typer(help="The gateway service on the Raspberry Pi.", no_args_is_help=True)
devices_app = typer.Typer(help="The allow-list: devices this gateway reads.", invoke_without_command=True)
app.add_typer(devices_app, name="devices")

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="TOML file with gateway settings.", exists=False)
BACKEND_OPTION = typer.Option(None, "--ble-backend", help="bleak (BlueZ) or simulator.")
SCENARIO_OPTION = typer.Option(None, "--scenario", help="Simulator scenario (with --ble-backend simulator).")
SPEED_OPTION = typer.Option(None, "--speed", help="Simulator time compression.")
DEFAULT_CONFIG = Path(GATEWAY_CONFIG_DIR / "gateway.toml")
HUB_COMMANDS = "homevitals.gateway_commands"


def _settings(config: Path | None, **overrides: Any) -> GatewaySettings:
    try:
        settings = load_settings(config, **overrides)
    except ConfigurationError as error:
        typer.echo(f"configuration: {error}", err=True)
        raise typer.Exit(code=2) from error
    except ValueError as error:  # pydantic's ValidationError names each bad setting
        typer.echo(f"configuration: {error}", err=True)
        raise typer.Exit(code=2) from error
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _fail(error: HomevitalsError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code=2 if isinstance(error, ConfigurationError) else 1)


def _backend(settings: GatewaySettings) -> AbstractAsyncContextManager[BleBackend]:
    return open_backend(settings.ble_backend, adapter=settings.ble_adapter, scenario=settings.scenario,
                        speed=settings.speed, clock_sync_marker=settings.clock_sync_marker)


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)


async def _run_service(settings: GatewaySettings, allow_scenario_devices: bool | None) -> None:
    from gateway.service import GatewayService, ServiceConfig, mqtt_config_from_settings  # noqa: PLC0415

    stop = asyncio.Event()
    _install_signal_handlers(stop)
    service_config = ServiceConfig.from_settings(settings)
    mqtt = mqtt_config_from_settings(settings)
    allowlist = AllowList(settings.allowlist_path)
    if settings.ble_backend == "simulator" and (allow_scenario_devices or (
        allow_scenario_devices is None and len(allowlist) == 0
    )):
        _allow_scenario_devices(settings, allowlist)
    async with _backend(settings) as backend:
        with Outbox.open(settings.outbox_path, limit=settings.outbox_limit) as outbox:
            service = GatewayService(service_config, backend, outbox=outbox, allowlist=allowlist, mqtt=mqtt)
            await service.run(stop)


def _allow_scenario_devices(settings: GatewaySettings, allowlist: AllowList) -> None:
    """Simulator demo: the scenario's devices are the household's (logged, and persisted)."""
    import structlog  # noqa: PLC0415

    for device in backend_plugin(settings.ble_backend).known_devices(settings.scenario):
        if device.address not in allowlist:
            allowlist.add(device)
            structlog.get_logger("gateway.cli").info(
                "allow_list_seeded_from_scenario", address=device.address, device=device.name)


@app.command()
def run(
    config: Path | None = CONFIG_OPTION,
    ble_backend: str | None = BACKEND_OPTION,
    scenario: Path | None = SCENARIO_OPTION,
    speed: float | None = SPEED_OPTION,
    allow_scenario_devices: bool | None = typer.Option(
        None,
        "--allow-scenario-devices/--no-allow-scenario-devices",
        help="Simulator only: put the scenario's devices on the allow-list (default: when it is empty).",
    ),
) -> None:
    """Run the gateway: scan, read allowed devices, deliver readings to the hub."""
    settings = _settings(config, ble_backend=ble_backend, scenario=scenario, speed=speed)
    try:
        settings.gateway_id  # noqa: B018 - fail before touching Bluetooth when GATEWAY_ID is bad
        settings.check_secrets()
        asyncio.run(_run_service(settings, allow_scenario_devices))
    except HomevitalsError as error:
        raise _fail(error) from error


@app.command()
def pair(
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds the pairing window stays open."),
    bond: bool = typer.Option(True, "--bond/--no-bond", help="Bond (for devices that support it)."),
    config: Path | None = CONFIG_OPTION,
    ble_backend: str | None = BACKEND_OPTION,
    scenario: Path | None = SCENARIO_OPTION,
) -> None:
    """Open a pairing window: bond the first new health device and add it to the allow-list."""
    from gateway.pairing import pair_first_new_device  # noqa: PLC0415

    settings = _settings(config, ble_backend=ble_backend, scenario=scenario)

    async def pairing() -> AllowedDevice:
        allowlist = AllowList(settings.allowlist_path)
        async with _backend(settings) as backend:
            return await pair_first_new_device(backend, allowlist, timeout_s=timeout, bond=bond)

    typer.echo(f"Pairing window open for {timeout:.0f} s: take a measurement on the new device.", err=True)
    try:
        entry = asyncio.run(pairing())
    except HomevitalsError as error:
        raise _fail(error) from error
    typer.echo(json.dumps({"paired": entry.to_json()}, indent=2))


@devices_app.callback()
def devices(ctx: typer.Context, config: Path | None = CONFIG_OPTION) -> None:
    """List the allow-list (or add/remove a device)."""
    ctx.obj = _settings(config)
    if ctx.invoked_subcommand is None:
        _print_devices(ctx.obj)


def _print_devices(settings: GatewaySettings) -> None:
    try:
        allowlist = AllowList(settings.allowlist_path)
    except HomevitalsError as error:
        raise _fail(error) from error
    typer.echo(json.dumps({"allow_list": str(settings.allowlist_path),
                           "devices": [entry.to_json() for entry in allowlist.devices]}, indent=2))


@devices_app.command("list")
def devices_list(ctx: typer.Context) -> None:
    """List the allow-list."""
    _print_devices(ctx.obj)


@devices_app.command("add")
def devices_add(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="Bluetooth identity address, AA:BB:CC:DD:EE:FF."),
    model: str | None = typer.Option(None, "--model"),
    name: str | None = typer.Option(None, "--name"),
    bonded: bool = typer.Option(False, "--bonded/--not-bonded", help="Already bonded with BlueZ."),
) -> None:
    """Allow a device by address (when it was bonded by other means, e.g. bluetoothctl)."""
    try:
        entry = AllowedDevice(address=normalize_address(address), model=model, name=name, bonded=bonded)
        AllowList(ctx.obj.allowlist_path).add(entry)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    except HomevitalsError as error:
        raise _fail(error) from error
    typer.echo(json.dumps({"added": entry.to_json()}, indent=2))


@devices_app.command("remove")
def devices_remove(ctx: typer.Context, address: str = typer.Argument(...)) -> None:
    """Stop reading a device."""
    try:
        removed = AllowList(ctx.obj.allowlist_path).remove(address)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    except HomevitalsError as error:
        raise _fail(error) from error
    if not removed:
        typer.echo(f"{address} is not on the allow-list", err=True)
        raise typer.Exit(code=1)
    typer.echo(json.dumps({"removed": address.upper()}))


def _outbox_summary(settings: GatewaySettings, malformed: int = 0, rejected: int = 0) -> dict[str, Any]:
    if not settings.outbox_path.exists():
        return {"path": str(settings.outbox_path), "exists": False, "depth": 0}
    with Outbox.open(settings.outbox_path, limit=settings.outbox_limit) as outbox:
        summary: dict[str, Any] = {
            "path": str(settings.outbox_path),
            "depth": outbox.depth,
            "limit": outbox.limit,
            "full": outbox.is_full,
            "pending": outbox.pending_count(),
            "open_batches": outbox.open_batch_seqs(),
            "next_batch_seq": outbox.next_batch_seq(),
            "oldest_measured_at": outbox.oldest_pending_measured_at(),
            "malformed_payloads": outbox.malformed_count(),
            "hub_rejected": outbox.hub_rejected_count(),
        }
        if malformed:
            summary["malformed"] = outbox.malformed(malformed)
        if rejected:
            summary["rejected"] = outbox.hub_rejected(rejected)
    return summary


@app.command()
def outbox(
    config: Path | None = CONFIG_OPTION,
    malformed: int = typer.Option(0, "--malformed", help="Also show the last N malformed payloads (hex)."),
    rejected: int = typer.Option(
        0, "--rejected", help="Also show the last N readings the hub dead-lettered, with its reason."
    ),
) -> None:
    """Show the outbox: readings waiting for the hub's ack, batches in flight, what the hub refused."""
    settings = _settings(config)
    try:
        typer.echo(json.dumps(_outbox_summary(settings, malformed, rejected), indent=2))
    except HomevitalsError as error:
        raise _fail(error) from error


@app.command()
def status(config: Path | None = CONFIG_OPTION) -> None:
    """Local state for an operator: configuration, allow-list and outbox (exit 1 if the outbox is full)."""
    settings = _settings(config)
    try:
        allowlist = AllowList(settings.allowlist_path)
        box = _outbox_summary(settings)
    except HomevitalsError as error:
        raise _fail(error) from error
    report = {
        "gateway_id": settings.id or None,
        "broker": f"{settings.mqtt_host}:{settings.mqtt_port}" + (" (TLS)" if settings.mqtt_tls else ""),
        "ble_backend": settings.ble_backend,
        "data_dir": str(settings.data_dir),
        "allowed_devices": len(allowlist),
        "outbox": box,
        "checked_at": datetime.now(UTC).isoformat(),
    }
    typer.echo(json.dumps(report, indent=2))
    if box.get("full"):
        raise typer.Exit(code=1)


@app.command("config")
def show_config(config: Path | None = CONFIG_OPTION) -> None:
    """Print the effective settings (secrets masked)."""
    settings = _settings(config)
    typer.echo(settings.model_dump_json(indent=2))


@app.command()
def join(
    code: str = typer.Argument(..., help="The one-time enrollment code from the hub's operator."),
    hub: str = typer.Option(..., "--hub", help="The hub's API address, e.g. https://hub.example.dk."),
    config: Path = typer.Option(
        DEFAULT_CONFIG, "--config", "-c", help="Where to write the gateway's config file (mode 0600)."
    ),
    hub_ca_file: Path | None = typer.Option(
        None, "--hub-ca-file", help="CA of the hub's https certificate, when it is not a public one."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing config file."),
    allow_http: bool = typer.Option(False, "--allow-http", help="Allow a plain-http hub (trusted networks)."),
    owner: str | None = typer.Option(
        None, "--owner", help="Give the files to this user, the service's (e.g. homevitals); needs root."
    ),
) -> None:
    """Enroll this gateway: trade the one-time code for its config file (broker credentials)."""
    from gateway.join import check_hub_url, check_writable, redeem, write_config  # noqa: PLC0415
    from homevitals.enrollment import EnrollmentBundle  # noqa: PLC0415

    bundle: EnrollmentBundle | None = None
    try:
        url = check_hub_url(hub, allow_http=allow_http)
        check_writable(config, overwrite=force)  # before the code is spent
        bundle = redeem(url, code, ca_file=hub_ca_file)
        joined = write_config(bundle, config, owner=owner)
    except HomevitalsError as error:
        if bundle is not None and not config.exists():  # the code is spent: hand the config over
            typer.echo(bundle.to_toml(), nl=False)
            typer.echo("The config above could not be saved: save it yourself, mode 0600.", err=True)
        raise _fail(error) from error
    typer.echo(json.dumps({
        "joined": joined.gateway_id,
        "config": str(joined.config_path),
        "ca_file": str(joined.ca_path) if joined.ca_path else None,
        "next": f"homevitals gateway run --config {joined.config_path}",
    }, indent=2))


def _add_hub_commands() -> None:
    """``enroll`` and ``revoke`` belong to the hub (api/enrollment/cli.py); they join this group
    by entry point, so the gateway package imports nothing of the hub."""
    for entry_point in entry_points(group=HUB_COMMANDS):
        try:
            command = entry_point.load()
        except ImportError:  # a wheel without the hub's modules: the command is not offered
            continue
        app.command(name=entry_point.name)(command)


_add_hub_commands()


if __name__ == "__main__":  # pragma: no cover
    app(prog_name=f"{Path(sys.argv[0]).name} gateway")
