"""The gateway service: scanner -> device sessions -> outbox -> publisher, and status.

Tasks on one asyncio loop:

- the scan supervisor: advertisements from allowed devices start a session (one per device
  at a time, at most ``max_connections`` at once, a cool-down after each); other devices
  are counted and ignored;
- device sessions, each writing its readings to the outbox as they arrive;
- the publisher, draining the outbox to MQTT;
- the status loop: retained status every ``status_interval_s``, at once when the outbox
  fills up or drains below its limit, plus the systemd watchdog.

While the outbox is at its limit no new session starts: the devices keep their records
(they only forget what was confirmed), the alarm is on the status topic and in the log, and
nothing already stored is dropped. Readings still arriving in a running session are stored
beyond the limit, never discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from gateway import systemd
from gateway.ack_tracker import HubAckPolicy
from gateway.allowlist import AllowList
from gateway.backends import BleBackend
from gateway.errors import AllowListError
from gateway.outbox import AddResult, Outbox
from gateway.publisher import MqttConfig, Publisher
from gateway.readings import BuiltReading
from gateway.scanner import ScanSupervisor, advertised_health_services
from gateway.session import DeviceSession, SessionConfig, SessionReport
from gateway.settings import GatewaySettings
from gateway.status import DeviceRegistry, StatusInputs, build_status
from homevitals.contract.models import MAX_MESSAGE_BYTES

log = structlog.get_logger("gateway.service")

ALLOWLIST_RECHECK_S = 2.0
FAILED_SESSION_BACKOFF_S = (2.0, 120.0)
SHUTDOWN_SESSIONS_GRACE_S = 10.0
PRUNE_EVERY_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    gateway_id: str
    zone: ZoneInfo
    max_connections: int = 2
    reconnect_cooldown_s: float = 15.0
    scan_stall_s: float = 600.0
    status_interval_s: float = 60.0
    batch_size: int = 50
    inflight_window: int = 4
    batch_linger_s: float = 0.5
    max_message_bytes: int = MAX_MESSAGE_BYTES
    dedupe_days: int = 400
    shutdown_grace_s: float = 5.0
    hub_acks: HubAckPolicy = field(default_factory=HubAckPolicy)
    session: SessionConfig = field(default_factory=lambda: SessionConfig(zone=ZoneInfo("UTC")))

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> ServiceConfig:
        return cls(
            gateway_id=settings.gateway_id,
            zone=settings.zone,
            max_connections=settings.max_connections,
            reconnect_cooldown_s=settings.reconnect_cooldown_s,
            scan_stall_s=settings.scan_stall_s,
            status_interval_s=settings.status_interval_s,
            batch_size=settings.batch_size,
            inflight_window=settings.inflight_window,
            batch_linger_s=settings.batch_linger_s,
            max_message_bytes=settings.max_message_bytes,
            dedupe_days=settings.dedupe_days,
            hub_acks=HubAckPolicy(
                enabled=settings.hub_acks,
                timeout_s=settings.hub_ack_timeout_s,
                timeout_max_s=settings.hub_ack_timeout_max_s,
                window=settings.hub_ack_window,
                initial_window=settings.hub_ack_initial_window,
            ),
            session=SessionConfig(
                zone=settings.zone,
                clock_tolerance=timedelta(seconds=settings.clock_tolerance_s),
                connect_attempts=settings.connect_attempts,
                backlog_idle_s=settings.backlog_idle_s,
                session_timeout_s=settings.session_timeout_s,
            ),
        )


def mqtt_config_from_settings(settings: GatewaySettings) -> MqttConfig:
    return MqttConfig(
        settings.mqtt_endpoint(default_client_id=f"homevitals-gateway-{settings.gateway_id}"),
        session_expiry_s=settings.mqtt_session_expiry_s,
        reconnect_min_s=settings.mqtt_reconnect_min_s,
        reconnect_max_s=settings.mqtt_reconnect_max_s,
    )


@dataclass
class _DeviceSchedule:
    not_before: float = 0.0
    failures: int = 0


class GatewayService:
    """Owns the tasks; :meth:`run` returns after ``stop`` is set and everything is closed."""

    def __init__(
        self,
        config: ServiceConfig,
        backend: BleBackend,
        *,
        outbox: Outbox,
        allowlist: AllowList,
        mqtt: MqttConfig,
    ) -> None:
        self.config = config
        self.backend = backend
        self.outbox = outbox
        self.allowlist = allowlist
        self.registry = DeviceRegistry()
        self.publisher = Publisher(
            mqtt,
            config.gateway_id,
            outbox,
            batch_size=config.batch_size,
            inflight_window=config.inflight_window,
            status_payload=self.status_payload,
            batch_linger_s=config.batch_linger_s,
            hub_acks=config.hub_acks,
            max_message_bytes=config.max_message_bytes,
            now=backend.now,
        )
        self.scanner = ScanSupervisor(backend, self._on_advertisement, stall_after_s=config.scan_stall_s)
        self._slots = asyncio.Semaphore(config.max_connections)
        self._sessions: dict[str, asyncio.Task[None]] = {}
        self._schedule: dict[str, _DeviceSchedule] = {}
        self._stop = asyncio.Event()
        self._started = time.monotonic()
        self._allowlist_checked = 0.0
        self._allowlist_broken = False
        self._outbox_was_full = False
        self._full_logged_at = 0.0
        self._last_prune = 0.0

    # --- status ---------------------------------------------------------------------------

    def status_payload(self) -> dict[str, Any]:
        addresses = [entry.address for entry in self.allowlist.devices]
        for entry in self.allowlist.devices:
            state = self.registry.state(entry.address)
            state.model = state.model or entry.model
        return build_status(
            StatusInputs(
                started_monotonic=self._started,
                now=self.backend.now(),
                outbox_depth=self.outbox.depth,
                outbox_limit=self.outbox.limit,
                devices=self.registry.known(addresses),
                ignored_devices=len(self.allowlist.ignored),
                malformed_payloads=self.outbox.malformed_count(),
                last_error=self.publisher.stats.last_error,
                scanner={
                    "restarts": self.scanner.stats.restarts,
                    "start_failures": self.scanner.stats.start_failures,
                    "last_error": self.scanner.stats.last_error,
                },
            )
        )

    def _check_outbox_full(self) -> None:
        full = self.outbox.is_full
        if full == self._outbox_was_full:
            return
        self._outbox_was_full = full
        if full:
            log.error("outbox_full", depth=self.outbox.depth, limit=self.outbox.limit,
                      effect="no new device sessions until the broker takes readings; devices keep theirs")
        else:
            log.info("outbox_below_limit", depth=self.outbox.depth, limit=self.outbox.limit)
        self.publisher.publish_status()

    # --- readings -------------------------------------------------------------------------

    def store_reading(self, reading: BuiltReading) -> AddResult:
        """The sessions' sink: durable write first, then wake the publisher."""
        result = self.outbox.add(reading)
        if result is AddResult.STORED:
            self.publisher.wake()
            self._check_outbox_full()
        return result

    # --- advertisements and sessions ------------------------------------------------------

    def _on_advertisement(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        address = device.address.upper()
        now = time.monotonic()
        if now - self._allowlist_checked > ALLOWLIST_RECHECK_S:
            self._allowlist_checked = now
            self._reload_allowlist()
        if address not in self.allowlist:
            if self.allowlist.note_ignored(address):
                log.info("device_ignored_not_allowed", address=address, name=advertisement.local_name,
                         services=advertised_health_services(advertisement), rssi=advertisement.rssi)
            return
        self.registry.seen(address, advertisement.rssi, self.backend.now())
        if self._stop.is_set() or address in self._sessions:
            return
        schedule = self._schedule.setdefault(address, _DeviceSchedule())
        if now < schedule.not_before:
            return
        if self.outbox.is_full:
            if now - self._full_logged_at > 60:
                self._full_logged_at = now
                log.error("outbox_full_device_not_read", address=address, depth=self.outbox.depth,
                          limit=self.outbox.limit)
            return
        loop = asyncio.get_running_loop()
        self._sessions[address] = loop.create_task(self._session(device, address), name=f"session-{address}")

    def _reload_allowlist(self) -> None:
        problem = None
        try:
            changed = self.allowlist.reload_if_changed()
        except AllowListError as error:
            problem, changed = str(error), False
        if problem is not None:
            # Keep serving the list as it was; say so once, not at every advertisement.
            if not self._allowlist_broken:
                log.error("allow_list_unreadable_keeping_previous", error=problem,
                          devices=len(self.allowlist))
            self._allowlist_broken = True
            return
        self._allowlist_broken = False
        if changed:
            log.info("allow_list_reloaded", devices=len(self.allowlist))

    async def _session(self, device: BLEDevice, address: str) -> None:
        try:
            async with self._slots:
                if self._stop.is_set():
                    return
                entry = self.allowlist.get(address)
                session = DeviceSession(
                    self.backend,
                    device,
                    address=address,
                    store=self.outbox,
                    sink=self.store_reading,
                    config=self.config.session,
                    bond_first=entry is not None and entry.bonded,
                )
                report = await session.run()
            self._after_session(report)
        finally:
            self._sessions.pop(address, None)

    def _after_session(self, report: SessionReport) -> None:
        state = self.registry.state(report.address)
        if report.battery is not None:
            state.battery = report.battery
        if report.identity is not None and report.identity.model:
            state.model = report.identity.model
        state.last_session_ok = report.complete
        self.publisher.publish_status()  # battery and model are fresh now
        schedule = self._schedule.setdefault(report.address, _DeviceSchedule())
        now = time.monotonic()
        if report.complete and not (report.device_disconnected and report.stored):
            schedule.failures = 0
            schedule.not_before = now + self.config.reconnect_cooldown_s
        elif report.complete:
            # The device hung up mid-transfer: it may hold more; come back as soon as it advertises.
            schedule.failures = 0
            schedule.not_before = now + 1.0
        else:
            schedule.failures += 1
            first, cap = FAILED_SESSION_BACKOFF_S
            schedule.not_before = now + min(cap, first * 2 ** (schedule.failures - 1))

    # --- the loop -------------------------------------------------------------------------

    async def _status_loop(self) -> None:
        watchdog = systemd.watchdog_interval_s()
        tick = min(1.0, watchdog) if watchdog else 1.0
        last_status = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=tick)
            if watchdog:
                systemd.notify("WATCHDOG=1")
            self._check_outbox_full()
            now = time.monotonic()
            if now - last_status >= self.config.status_interval_s:
                last_status = now
                self.publisher.publish_status()
            if now - self._last_prune >= PRUNE_EVERY_S:
                self._last_prune = now
                pruned = self.outbox.prune_delivered(timedelta(days=self.config.dedupe_days))
                if pruned:
                    log.info("dedupe_ledger_pruned", forgotten=pruned)

    async def run(self, stop: asyncio.Event) -> None:
        self._started = time.monotonic()
        log.info("gateway_starting", gateway_id=self.config.gateway_id, backend=self.backend.name,
                 allowed_devices=len(self.allowlist), outbox_depth=self.outbox.depth,
                 open_batches=len(self.outbox.open_batch_seqs()))
        self._outbox_was_full = self.outbox.is_full
        if self._outbox_was_full:
            log.error("outbox_full", depth=self.outbox.depth, limit=self.outbox.limit)
        self.publisher.start()
        tasks = [
            asyncio.create_task(self.publisher.run(self._stop), name="publisher"),
            asyncio.create_task(self.scanner.run(self._stop), name="scanner"),
            asyncio.create_task(self._status_loop(), name="status"),
        ]
        systemd.notify("READY=1")
        stop_wait = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({stop_wait, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        crashed = [task for task in done if task is not stop_wait and task.exception() is not None]
        systemd.notify("STOPPING=1")
        self._stop.set()
        stop_wait.cancel()
        await self._finish_sessions()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.publisher.stop(self.config.shutdown_grace_s)
        log.info("gateway_stopped", outbox_depth=self.outbox.depth)
        for task in crashed:
            exception = task.exception()
            if exception is not None:
                raise exception

    async def _finish_sessions(self) -> None:
        running = list(self._sessions.values())
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=SHUTDOWN_SESSIONS_GRACE_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
