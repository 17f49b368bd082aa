"""What every virtual health device shares.

A ``VirtualDevice`` is a Bumble peripheral on the world's ``LocalLink`` with:

- Device Information, Battery and Current Time services (the clock follows writes);
- a device clock that can be offset, drift, or be unset (year 2000 after a battery change);
- a memory of stored records, delivered as indications right after a client subscribes to
  the measurement characteristic (as A&D's UA-651BLE does), each forgotten only once its
  indication is confirmed;
- an advertising window: it advertises for N seconds after a measurement (or always);
- optional bonding requirement (LE Secure Connections, Just Works) before it serves the
  measurement characteristic;
- optional connection drop after N confirmed indications (mid-transfer);
- fault injection per measurement (NaN, the other unit, malformed bytes, implausible values).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import math
import re
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

import structlog
from bumble import gatt, hci, pairing
from bumble.core import UUID, AdvertisingData
from bumble.data_types import CompleteListOf16BitServiceUUIDs, CompleteLocalName, Flags
from bumble.device import Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from simulator.clock import DeviceClock, SimClock
from simulator.controller import TEARDOWN_ERRORS, VirtualController, reason_name
from simulator.devices.records import RecordStore
from simulator.devices.services import (
    BondedCccd,
    battery_service,
    current_time_service,
    device_information_service,
)
from simulator.errors import WorldError
from simulator.model import DeviceKind, FaultKind, Reading, StoredRecord
from simulator.payloads import truncate

_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
# Core spec Vol 3, Part C, 11.1.3: LE General Discoverable Mode, BR/EDR Not Supported.
_ADVERTISING_FLAGS = (
    AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
)


@dataclass(frozen=True)
class ClockSettings:
    """How wrong a device clock is when the simulation starts."""

    offset_seconds: float = 0.0
    drift_seconds_per_day: float = 0.0
    unset: bool = False


@dataclass(frozen=True)
class DeviceProfile:
    """Identity and behaviour knobs of one virtual device (see docs/simulator.md)."""

    address: str
    id: str = ""
    name: str = "Virtual device"
    manufacturer: str = "homevitals"
    model: str = "SIM-1"
    serial: str = "0000001"
    firmware: str = "1.0"
    hardware: str | None = None
    battery: int = 100
    user_slots: int = 1
    rssi: int = -60
    advertise_seconds: float | None = None
    """Advertise for this many wall seconds after a measurement; ``None``: always."""
    advertising_interval_ms: float = 100.0
    memory_size: int = 100
    requires_bonding: bool = False
    drop_after_n_indications: int | None = None
    """Drop the connection after this many confirmed indications (mid-transfer)."""
    drop_connections: int = 1
    """How many connections get dropped that way; 0 means every connection."""
    clock: ClockSettings = field(default_factory=ClockSettings)

    @property
    def key(self) -> str:
        return self.id or self.address.upper()


@dataclass
class _Session:
    """One connected client, as the device sees it."""

    connection: Connection
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    subscribed: bool = False
    confirmed: int = 0
    delivery: asyncio.Task[None] | None = None


class VirtualDevice(abc.ABC):
    """Base class of the virtual Bluetooth LE health devices."""

    kind: ClassVar[DeviceKind]
    service_uuid: ClassVar[UUID]
    measured_fields: ClassVar[tuple[str, ...]]
    """Values a failed measurement reports as NaN."""
    implausible_values: ClassVar[Mapping[str, float]]
    """Values outside physiological limits, for the ``implausible`` fault."""
    delivers_backlog_on_subscribe: ClassVar[bool] = True

    def __init__(
        self,
        profile: DeviceProfile,
        sim_clock: SimClock,
        tz: tzinfo,
        *,
        clock_reset_at: datetime | None = None,
    ) -> None:
        if profile.user_slots < 1:
            raise WorldError(f"{profile.key}: user_slots must be >= 1")
        if not _ADDRESS.match(profile.address):
            raise WorldError(f"{profile.key}: address {profile.address!r} is not like A4:C1:38:00:11:22")
        self.profile = profile
        self.sim_clock = sim_clock
        self.clock = DeviceClock(
            sim_clock.now,
            tz,
            offset=timedelta(seconds=profile.clock.offset_seconds),
            drift_seconds_per_day=profile.clock.drift_seconds_per_day,
            unset=profile.clock.unset,
            reset_at=clock_reset_at,
        )
        self.store = RecordStore(profile.memory_size)
        self.battery_level = profile.battery
        self.delivered_seqs: list[int] = []
        """Records delivered to a client, in order (confirmed, where they were indicated)."""
        self.measurement_characteristic: gatt.Characteristic[bytes] | None = None
        self._log = structlog.get_logger("simulator.device").bind(device=profile.key)
        self._device: Device | None = None
        self._controller: VirtualController | None = None
        self._link: LocalLink | None = None
        self._sessions: dict[int, _Session] = {}
        self._drops_left = profile.drop_connections
        self._advertise_forever = profile.advertise_seconds is None
        self._advertise_until = 0.0  # loop time
        self._advertising_lock = asyncio.Lock()
        self._advertising_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ identity
    @property
    def key(self) -> str:
        """The id the scenario gave this device, or its address."""
        return self.profile.key

    @property
    def address(self) -> str:
        return self.profile.address.upper()

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def bumble_device(self) -> Device:
        if self._device is None:
            raise WorldError(f"{self.key} is not attached to a running world")
        return self._device

    @property
    def is_connected(self) -> bool:
        return bool(self._sessions)

    @property
    def is_advertising(self) -> bool:
        return self._device is not None and bool(self._device.is_advertising)

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def measurement_services(self) -> list[gatt.Service]:
        """The profile's services; must set ``self.measurement_characteristic``."""

    @abc.abstractmethod
    def encode(self, reading: Reading, device_time: datetime, seq: int, *, alt_unit: bool) -> bytes:
        """The characteristic value for one record (values may be NaN)."""

    # ------------------------------------------------------------------ measuring
    def measure(self, reading: Reading) -> StoredRecord:
        """The person takes a measurement: store it, indicate it, advertise for a while."""
        record = self._store(reading)
        self._log.debug("record stored", seq=record.seq, stored=len(self.store))
        for session in self._sessions.values():
            session.wake.set()
        self.open_advertising_window()
        return record

    def preload(self, reading: Reading) -> StoredRecord:
        """Put a past measurement in memory without advertising (backlog, history)."""
        return self._store(reading)

    def _store(self, reading: Reading) -> StoredRecord:
        if reading.kind is not self.kind:
            raise WorldError(f"{self.key} is a {self.kind} device, not {reading.kind}")
        slot = reading.user_slot
        if slot is not None and not 1 <= slot <= self.profile.user_slots:
            raise WorldError(f"{self.key} has {self.profile.user_slots} user slot(s), not {slot}")
        device_time = self.clock.at(reading.taken_at).replace(microsecond=0)
        seq = self.store.next_seq()
        payload = self._encode_with_fault(reading, device_time, seq)
        record = StoredRecord(seq=seq, reading=reading, device_time=device_time, payload=payload)
        self.store.add(record)
        return record

    def _encode_with_fault(self, reading: Reading, device_time: datetime, seq: int) -> bytes:
        fault = reading.fault
        values = dict(reading.values)
        if fault is FaultKind.NAN:
            values.update(dict.fromkeys(self.measured_fields, math.nan))
        elif fault is FaultKind.IMPLAUSIBLE:
            values.update(self.implausible_values)
        shown = Reading(
            kind=reading.kind,
            taken_at=reading.taken_at,
            values=values,
            user_slot=reading.user_slot,
            fault=fault,
            citizen=reading.citizen,
        )
        payload = self.encode(shown, device_time, seq, alt_unit=fault is FaultKind.ALT_UNIT)
        return truncate(payload) if fault is FaultKind.MALFORMED else payload

    # ------------------------------------------------------------------ Bumble plumbing
    async def attach(self, link: LocalLink) -> None:
        """Build the Bumble controller, host and device on ``link`` and power on."""
        if self._device is not None:
            raise WorldError(f"{self.key} is already attached")
        controller = VirtualController(self.key, link=link)
        device = Device(
            name=self.profile.name,
            address=hci.Address(self.address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        device.pairing_config_factory = just_works_pairing
        # Set before building services: guarded CCCDs hook into this device's GATT server.
        self._controller, self._device, self._link = controller, device, link
        device.add_services(
            [
                *self.measurement_services(),
                device_information_service(
                    self.profile.manufacturer,
                    self.profile.model,
                    self.profile.serial,
                    self.profile.firmware,
                    self.profile.hardware,
                ),
                battery_service(lambda: self.battery_level),
                current_time_service(self.clock, self._on_clock_set),
            ]
        )
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        device.on("characteristic_subscription", self._on_subscription)
        try:
            await device.power_on()
        except BaseException:
            link.remove_controller(controller)
            self._controller = self._device = self._link = None
            raise
        await self._refresh_advertising()

    async def detach(self) -> None:
        """Disconnect everyone, stop advertising, power off and leave the link."""
        device, controller, link = self._device, self._controller, self._link
        if device is None:
            return
        if self._advertising_timer is not None:
            self._advertising_timer.cancel()
        for session in list(self._sessions.values()):
            with contextlib.suppress(*TEARDOWN_ERRORS):  # best effort: the link is going away anyway
                await asyncio.wait_for(session.connection.disconnect(), 2.0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(*TEARDOWN_ERRORS):  # best effort, see above
            await device.stop_advertising()
        await device.power_off()
        if link is not None and controller is not None:
            link.remove_controller(controller)
        for session in self._sessions.values():
            session.closed.set()
        self._sessions.clear()
        self._device = self._controller = self._link = None

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._log.error("device task failed", error=repr(error))

    async def is_bonded(self, connection: Connection) -> bool:
        keystore = self.bumble_device.keystore
        return keystore is not None and await keystore.get(str(connection.peer_address)) is not None

    def bonded_cccd(self) -> list[gatt.Descriptor]:
        """The descriptor list for a measurement characteristic (CCCD guarded if bonding)."""
        return [BondedCccd(self.is_bonded)] if self.profile.requires_bonding else []

    def attach_cccd_value(self, characteristic: gatt.Characteristic[bytes]) -> None:
        """Wire a ``BondedCccd`` to the GATT server's subscription bookkeeping."""
        for descriptor in characteristic.descriptors:
            if isinstance(descriptor, BondedCccd):
                descriptor.value = self.bumble_device.gatt_server.make_descriptor_value(
                    characteristic
                )

    # ------------------------------------------------------------------ advertising
    def advertising_data(self) -> bytes:
        return bytes(
            AdvertisingData(
                [
                    Flags(_ADVERTISING_FLAGS),
                    CompleteListOf16BitServiceUUIDs([self.service_uuid]),
                    CompleteLocalName(self.profile.name),
                ]
            )
        )

    def open_advertising_window(self, seconds: float | None = None) -> None:
        """Advertise for ``seconds`` (default: the profile's ``advertise_seconds``)."""
        if self._device is None:
            return
        seconds = self.profile.advertise_seconds if seconds is None else seconds
        loop = asyncio.get_running_loop()
        if seconds is not None:
            self._advertise_until = max(self._advertise_until, loop.time() + seconds)
            if self._advertising_timer is not None:
                self._advertising_timer.cancel()
            self._advertising_timer = loop.call_at(
                self._advertise_until, lambda: self._spawn(self._refresh_advertising())
            )
        self._spawn(self._refresh_advertising())

    def _wants_to_advertise(self) -> bool:
        if self._device is None or self._sessions:
            return False
        return (
            self._advertise_forever
            or asyncio.get_running_loop().time() < self._advertise_until
        )

    async def _refresh_advertising(self) -> None:
        async with self._advertising_lock:
            device = self._device
            if device is None:
                return
            wanted = self._wants_to_advertise()
            if wanted and not device.is_advertising:
                interval = self.profile.advertising_interval_ms
                await device.start_advertising(
                    advertising_data=self.advertising_data(),
                    scan_response_data=b"",
                    advertising_interval_min=interval,
                    advertising_interval_max=interval,
                )
                self._log.debug("advertising started")
            elif not wanted and device.is_advertising:
                await device.stop_advertising()
                self._log.debug("advertising stopped")

    # ------------------------------------------------------------------ connections
    def _on_connection(self, connection: Connection) -> None:
        session = _Session(connection)
        self._sessions[connection.handle] = session
        connection.on(
            Connection.EVENT_DISCONNECTION,
            lambda reason: self._on_disconnection(session, reason),
        )
        self._log.info("client connected", peer=str(connection.peer_address))
        # A connection ends a legacy advertising event; keep the Bumble state in step.
        self._spawn(self._refresh_advertising())

    def _on_disconnection(self, session: _Session, reason: int) -> None:
        session.closed.set()
        self._sessions.pop(session.connection.handle, None)
        self._log.info(
            "client disconnected", reason=reason_name(reason), stored=len(self.store)
        )
        if self._device is not None:
            self._spawn(self._refresh_advertising())

    def _on_subscription(
        self,
        bearer: object,
        characteristic: gatt.Characteristic[bytes],
        notify_enabled: bool,
        indicate_enabled: bool,
    ) -> None:
        if characteristic is not self.measurement_characteristic:
            return
        if not self.delivers_backlog_on_subscribe:
            return
        session = next(
            (s for s in self._sessions.values() if s.connection is bearer), None
        )
        if session is None:
            return
        # An indicate characteristic counts as subscribed only with the indicate bit: a
        # record is forgotten only after a confirmation, which notifications never bring.
        wants_indicate = bool(characteristic.properties & gatt.Characteristic.Properties.INDICATE)
        session.subscribed = indicate_enabled if wants_indicate else notify_enabled
        self._log.info("client subscribed", indicate=indicate_enabled, stored=len(self.store))
        if session.subscribed and session.delivery is None:
            session.delivery = self._spawn(self._deliver(session))
        session.wake.set()

    def _on_clock_set(self, shown: datetime) -> None:
        self._log.info("clock set by client", device_time=shown.isoformat())

    # ------------------------------------------------------------------ delivery
    async def _deliver(self, session: _Session) -> None:
        """Indicate stored records oldest first; forget each once it is confirmed."""
        characteristic = self.measurement_characteristic
        if characteristic is None:
            return
        while not session.closed.is_set():
            record = self.store.oldest()
            if record is None or not session.subscribed:
                session.wake.clear()
                await _first(session.wake.wait(), session.closed.wait())
                continue
            confirmed = await self.send(session, characteristic, record.payload, indicate=True)
            if not confirmed:
                return
            self.store.forget(record.seq)
            self.delivered_seqs.append(record.seq)
            session.confirmed += 1
            self._log.info("record delivered", seq=record.seq, left=len(self.store))
            if self._should_drop(session):
                await self._drop(session)
                return

    async def send(
        self,
        session_or_connection: _Session | Connection,
        characteristic: gatt.Characteristic[bytes],
        payload: bytes,
        *,
        indicate: bool,
    ) -> bool:
        """Notify or indicate; for an indication, True only once the client confirmed it."""
        session = (
            session_or_connection
            if isinstance(session_or_connection, _Session)
            else self._sessions.get(session_or_connection.handle)
        )
        if session is None or session.closed.is_set():
            return False
        server = self.bumble_device.gatt_server
        if indicate:
            operation = server.indicate_subscriber(session.connection, characteristic, payload)
        else:
            operation = server.notify_subscriber(session.connection, characteristic, payload)
        sent = asyncio.ensure_future(operation)
        closed = asyncio.ensure_future(session.closed.wait())
        try:
            await asyncio.wait({sent, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            if not sent.done():
                # Disconnected before the confirmation: Bumble would wait 30 s for it.
                sent.cancel()
        if sent.cancelled():
            return False
        if (error := sent.exception()) is not None:
            self._log.warning("indication not confirmed", error=repr(error))
            return False
        return True

    def _should_drop(self, session: _Session) -> bool:
        limit = self.profile.drop_after_n_indications
        if limit is None or session.confirmed < limit:
            return False
        return self.profile.drop_connections == 0 or self._drops_left > 0

    async def _drop(self, session: _Session) -> None:
        self._drops_left -= 1
        self._log.info("dropping connection mid-transfer", confirmed=session.confirmed)
        with contextlib.suppress(*TEARDOWN_ERRORS):  # already gone is fine: that is the point
            await session.connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)


async def _first(*awaitables: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first awaitable finishes; cancel the others."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def just_works_pairing(_connection: Connection) -> pairing.PairingConfig:
    """LE Secure Connections, Just Works (no input, no output), bonding.

    The identity address is the device's own (static random) address, so a bonded client
    finds the keys again when it reconnects.
    """
    return pairing.PairingConfig(
        sc=True,
        mitm=False,
        bonding=True,
        delegate=pairing.PairingDelegate(
            io_capability=pairing.PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT
        ),
        identity_address_type=pairing.PairingConfig.AddressType.RANDOM,
    )
