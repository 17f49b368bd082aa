"""One connection to one health device: the per-device session state machine.

Steps, in order (each logged as the session enters it)::

    connecting -> bonding (when known to need it) -> device_information -> battery
      -> clock (read; write Current Time when off by more than the tolerance)
      -> subscribing -> backlog -> racp (glucose meters) -> disconnecting -> done

Why the clock is set before subscribing, not at the end: many monitors (A&D's UA-651BLE
among them) deliver their stored records right after the subscription and then drop the
connection, so a write at the end would never happen. The stored records were stamped by
the old clock; they are corrected with the skew read *before* the write, which is exactly
the clock that stamped them.

A device that answers a read or a subscription with "insufficient authentication/
encryption" is bonded (``pair()``) and the step retried once.

Every measurement is decoded and handed to the reading sink (the service writes it to the
outbox) inside the notification callback, before anything else happens to it. Bytes that do
not decode are logged with their hex and kept by the :class:`SessionStore` (the outbox's
``malformed`` table); they never stop the session.

The session's only other state on disk goes through :class:`SessionStore`, a narrow protocol
that :class:`gateway.outbox.Outbox` implements: the cached Device Information, a glucose
meter's last sequence number (for RACP "report records after"), malformed payloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

import structlog
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDBusError, BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode

from gateway.backends import BleBackend
from gateway.clock import ClockHistory, ClockReading, wall_clock
from gateway.errors import DeviceSessionError, OutboxError, UnsupportedReading, describe
from gateway.outbox import AddResult
from gateway.readings import MEASUREMENT_UUIDS, BuiltReading, DeviceIdentity, build_reading
from gatt import (
    BatteryLevel,
    CurrentTime,
    DecodeError,
    GlucoseMeasurement,
    RacpRequest,
    RacpResponse,
    decode_characteristic,
    normalize_uuid,
)
from gatt.racp import RacpResponseCode
from gatt.uuids import CharacteristicUUID, uuid128
from homevitals.contract import utc_text

log = structlog.get_logger("gateway.session")

T = TypeVar("T")
ReadingSink = Callable[[BuiltReading], AddResult]


class SessionStore(Protocol):
    """What a session keeps between sessions (implemented by :class:`gateway.outbox.Outbox`).

    Each method may raise :class:`~gateway.errors.OutboxError` when the disk fails.
    """

    def cached_device_info(self, address: str, max_age: timedelta | None = None) -> DeviceIdentity | None:
        """The identity read within ``max_age``, so a session need not read it again."""
        ...

    def store_device_info(self, identity: DeviceIdentity) -> None: ...

    def last_sequence(self, address: str) -> int | None:
        """The highest glucose record sequence number stored from this device."""
        ...

    def set_last_sequence(self, address: str, sequence: int) -> None: ...

    def record_malformed(self, address: str, uuid: int, raw: bytes, error: str) -> None:
        """Keep bytes that do not decode, with the reason, for inspection."""
        ...

MAX_SEQUENCE_NUMBER = 0xFFFF
DISCONNECT_TIMEOUT_S = 10.0
_AUTH_CODES = {
    BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION,
    BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION,
    BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION_KEY_SIZE,
    BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHORIZATION,
}
_AUTH_DBUS_ERRORS = {"org.bluez.Error.NotAuthorized", "org.bluez.Error.NotPermitted"}
_DEVICE_INFORMATION = {
    CharacteristicUUID.MANUFACTURER_NAME_STRING: "manufacturer",
    CharacteristicUUID.MODEL_NUMBER_STRING: "model",
    CharacteristicUUID.SERIAL_NUMBER_STRING: "serial",
    CharacteristicUUID.FIRMWARE_REVISION_STRING: "firmware",
}


class Step(StrEnum):
    CONNECTING = "connecting"
    BONDING = "bonding"
    DEVICE_INFORMATION = "device_information"
    BATTERY = "battery"
    CLOCK = "clock"
    SUBSCRIBING = "subscribing"
    BACKLOG = "backlog"
    RACP = "racp"
    DISCONNECTING = "disconnecting"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    zone: ZoneInfo
    clock_tolerance: timedelta = timedelta(seconds=60)
    connect_attempts: int = 4
    backlog_idle_s: float = 3.0
    session_timeout_s: float = 180.0
    racp_timeout_s: float = 30.0
    device_info_max_age: timedelta = timedelta(days=1)


@dataclass
class SessionReport:
    """What one session did; the service logs it and updates the device's status."""

    address: str
    step: Step = Step.CONNECTING
    complete: bool = False
    stored: int = 0
    duplicates: int = 0
    malformed: int = 0
    bonded: bool = False
    battery: int | None = None
    identity: DeviceIdentity | None = None
    clock_skew_s: float | None = None
    clock_set: bool = False
    device_disconnected: bool = False  # the device hung up (it may hold unconfirmed records)
    error: str | None = None
    reading_ids: list[str] = field(default_factory=list)


def needs_bonding(error: BaseException) -> bool:
    if isinstance(error, BleakGATTProtocolError):
        return error.code in _AUTH_CODES
    if isinstance(error, BleakDBusError):
        return error.dbus_error in _AUTH_DBUS_ERRORS
    return False


def short_uuid(characteristic: BleakGATTCharacteristic) -> int:
    return normalize_uuid(characteristic.uuid)


class DeviceSession:
    """Connect to one allowed device, take in its records, set its clock, disconnect."""

    def __init__(
        self,
        backend: BleBackend,
        device: BLEDevice,
        *,
        address: str,
        store: SessionStore,
        sink: ReadingSink,
        config: SessionConfig,
        bond_first: bool = False,
    ) -> None:
        self.backend = backend
        self.device = device
        self.address = address.upper()
        self.store = store
        self.sink = sink
        self.config = config
        self.bond_first = bond_first
        self.report = SessionReport(self.address)
        self._client: BleakClient | None = None
        self._disconnected = asyncio.Event()
        self._clock: ClockHistory | None = None
        self._identity = DeviceIdentity(self.address)
        self._last_record = time.monotonic()
        self._racp_response: asyncio.Future[RacpResponse] | None = None
        self._fatal: BaseException | None = None
        self._log = log.bind(address=self.address)

    # --- the state machine ------------------------------------------------------------

    def _enter(self, step: Step) -> None:
        self.report.step = step
        self._log.debug("session_step", step=step.value)

    async def run(self) -> SessionReport:
        started = time.monotonic()
        deadline = asyncio.timeout(self.config.session_timeout_s)
        try:
            async with deadline:
                await self._steps()
            self.report.complete = self._fatal is None
        except (BleakError, TimeoutError, OSError, EOFError, DeviceSessionError) as error:
            limit = self.config.session_timeout_s
            reason = f"session took over {limit:.0f} s" if deadline.expired() else describe(error)
            self.report.error = f"{self.report.step.value}: {reason}"
        finally:
            await self._disconnect()
        if self._fatal is not None and self.report.error is None:
            self.report.error = f"{self.report.step.value}: {describe(self._fatal)}"
        self._log.info(
            "session_finished",
            complete=self.report.complete,
            step=self.report.step.value,
            stored=self.report.stored,
            duplicates=self.report.duplicates,
            malformed=self.report.malformed,
            clock_skew_s=self.report.clock_skew_s,
            clock_set=self.report.clock_set,
            battery=self.report.battery,
            error=self.report.error,
            duration_s=round(time.monotonic() - started, 2),
        )
        return self.report

    async def _steps(self) -> None:
        self._enter(Step.CONNECTING)
        self._client = await self.backend.connect(
            self.device, disconnected_callback=self._on_disconnected, attempts=self.config.connect_attempts
        )
        self._log.info("device_connected")
        if self.bond_first:
            await self._bond()
        self._enter(Step.DEVICE_INFORMATION)
        self._identity = await self._device_information()
        self.report.identity = self._identity
        self._enter(Step.BATTERY)
        self.report.battery = await self._battery()
        self._enter(Step.CLOCK)
        await self._check_clock()
        self._enter(Step.SUBSCRIBING)
        subscribed = await self._subscribe()
        self._enter(Step.BACKLOG)
        await self._await_quiet(self.config.backlog_idle_s)
        if CharacteristicUUID.GLUCOSE_MEASUREMENT in subscribed and self._present(
            CharacteristicUUID.RECORD_ACCESS_CONTROL_POINT
        ):
            self._enter(Step.RACP)
            await self._fetch_glucose_records()
        if self._fatal is not None:
            raise DeviceSessionError(self.address, self.report.step.value, describe(self._fatal))
        self._enter(Step.DISCONNECTING)

    # --- GATT helpers -----------------------------------------------------------------

    @property
    def client(self) -> BleakClient:
        if self._client is None:
            raise DeviceSessionError(self.address, self.report.step.value, "not connected")
        return self._client

    def _present(self, uuid: int) -> bool:
        return self.client.services.get_characteristic(uuid128(uuid)) is not None

    async def _bond(self) -> None:
        previous = self.report.step
        self._enter(Step.BONDING)
        await self.client.pair()
        self.report.bonded = True
        self._log.info("device_bonded")
        self._enter(previous)

    async def _secured(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a GATT operation; bond and retry once if the device demands security."""
        try:
            return await operation()
        except (BleakGATTProtocolError, BleakDBusError) as error:
            if self.report.bonded or not needs_bonding(error):
                raise
            self._log.info("device_requires_bonding", error=describe(error))
        await self._bond()
        return await operation()

    async def _read(self, uuid: int) -> bytes:
        data = await self._secured(lambda: self.client.read_gatt_char(uuid128(uuid)))
        return bytes(data)

    # --- steps --------------------------------------------------------------------------

    async def _device_information(self) -> DeviceIdentity:
        cached = self.store.cached_device_info(self.address, self.config.device_info_max_age)
        if cached is not None:
            return cached
        fields: dict[str, str] = {}
        for uuid, name in _DEVICE_INFORMATION.items():
            if not self._present(uuid):
                continue
            raw = await self._read(uuid)
            try:
                fields[name] = str(getattr(decode_characteristic(uuid, raw), "value", ""))
            except DecodeError as error:
                self._log.warning("device_information_malformed", uuid=f"{uuid:04x}", hex=raw.hex(),
                                  error=str(error))
        identity = DeviceIdentity(self.address, **fields)
        self.store.store_device_info(identity)
        self._log.info("device_information", **fields)
        return identity

    async def _battery(self) -> int | None:
        if not self._present(CharacteristicUUID.BATTERY_LEVEL):
            return None
        raw = await self._read(CharacteristicUUID.BATTERY_LEVEL)
        try:
            return BatteryLevel.from_bytes(raw).percent
        except DecodeError as error:
            self._log.warning("battery_level_malformed", hex=raw.hex(), error=str(error))
            return None

    async def _check_clock(self) -> None:
        if not self._present(CharacteristicUUID.CURRENT_TIME):
            self._log.info("device_has_no_clock_service")
            return
        raw = await self._read(CharacteristicUUID.CURRENT_TIME)
        now = self.backend.now()
        try:
            current = CurrentTime.from_bytes(raw)
        except DecodeError as error:
            self._log.warning("current_time_malformed", hex=raw.hex(), error=str(error))
            return
        # Fractions256 = 0 usually means "not kept": ClockReading then assumes half a second.
        fraction = current.fractions256 / 256 if current.fractions256 else 0.5
        read = ClockReading(current.date_time, now, self.config.zone, fraction_s=fraction)
        self._clock = ClockHistory(read)
        skew = read.skew
        self.report.clock_skew_s = None if skew is None else skew.total_seconds()
        self._log.info(
            "device_clock",
            device_time=current.date_time.isoformat() if current.date_time else None,
            clock_set=read.is_set,
            skew_s=self.report.clock_skew_s,
        )
        if not read.needs_setting(self.config.clock_tolerance):
            return
        if not self.backend.clock_synchronized():
            self._log.warning("device_clock_left_alone", skew_s=self.report.clock_skew_s,
                              reason="the gateway's own clock is not NTP-synchronized yet")
            return
        written_at = self.backend.now()
        value = CurrentTime.for_datetime(wall_clock(written_at, self.config.zone))
        await self._secured(
            lambda: self.client.write_gatt_char(uuid128(CharacteristicUUID.CURRENT_TIME), bytes(value),
                                                response=True)
        )
        self._clock = ClockHistory(read, ClockReading(value.date_time, written_at, self.config.zone,
                                                      fraction_s=value.fractions256 / 256))
        self.report.clock_set = True
        previous = current.date_time.isoformat() if current.date_time else None
        new = value.date_time.isoformat() if value.date_time else None
        self._log.info("device_clock_set", previous=previous, new=new, skew_s=self.report.clock_skew_s)

    async def _subscribe(self) -> set[int]:
        subscribed: set[int] = set()
        for uuid in sorted(MEASUREMENT_UUIDS):
            if not self._present(uuid):
                continue
            await self._secured(self._notify_starter(uuid))
            subscribed.add(uuid)
        if CharacteristicUUID.GLUCOSE_MEASUREMENT in subscribed and self._present(
            CharacteristicUUID.RECORD_ACCESS_CONTROL_POINT
        ):
            await self._secured(
                lambda: self.client.start_notify(
                    uuid128(CharacteristicUUID.RECORD_ACCESS_CONTROL_POINT), self._on_racp
                )
            )
        if not subscribed:
            raise DeviceSessionError(self.address, Step.SUBSCRIBING.value, "no measurement characteristic")
        self._last_record = time.monotonic()
        self._log.info("subscribed", characteristics=[f"{uuid:04x}" for uuid in sorted(subscribed)])
        return subscribed

    def _notify_starter(self, uuid: int) -> Callable[[], Awaitable[None]]:
        return lambda: self.client.start_notify(uuid128(uuid), self._on_measurement)

    async def _await_quiet(self, idle_s: float) -> None:
        """Until no record has arrived for ``idle_s``, or the device disconnects."""
        while not self._disconnected.is_set() and self._fatal is None:
            remaining = idle_s - (time.monotonic() - self._last_record)
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._disconnected.wait(), timeout=remaining)

    async def _fetch_glucose_records(self) -> None:
        last = self.store.last_sequence(self.address)
        if last is None or last >= MAX_SEQUENCE_NUMBER:
            request = RacpRequest.report_all()
        else:
            request = RacpRequest.report_after(last + 1)
        self._racp_response = asyncio.get_running_loop().create_future()
        self._log.info("racp_request", after_sequence=last, request=request.to_json_dict())
        await self._secured(
            lambda: self.client.write_gatt_char(
                uuid128(CharacteristicUUID.RECORD_ACCESS_CONTROL_POINT), bytes(request), response=True
            )
        )
        response = await asyncio.wait_for(self._racp_response, timeout=self.config.racp_timeout_s)
        if response.response_code == RacpResponseCode.NO_RECORDS_FOUND:
            self._log.info("racp_no_new_records", after_sequence=last)
        elif not response.succeeded:
            answer = response.to_json_dict()
            raise DeviceSessionError(self.address, Step.RACP.value, f"RACP answered {answer}")
        # Records arrive as notifications before the response; let stragglers in.
        await self._await_quiet(min(0.5, self.config.backlog_idle_s))

    # --- callbacks ----------------------------------------------------------------------

    def _on_disconnected(self, _client: BleakClient) -> None:
        self._disconnected.set()
        self._log.info("device_disconnected", step=self.report.step.value)

    def _on_racp(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        try:
            response = RacpResponse.from_bytes(raw)
        except DecodeError as error:
            self._log.warning("racp_response_malformed", hex=raw.hex(), error=str(error))
            return
        if self._racp_response is not None and not self._racp_response.done():
            self._racp_response.set_result(response)

    def _on_measurement(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        gateway_time = self.backend.now()
        self._last_record = time.monotonic()
        raw = bytes(data)
        uuid = short_uuid(characteristic)
        try:
            self._store(uuid, raw, gateway_time)
        except OutboxError as error:
            # The bytes go to the log, so even now nothing is lost without a trace.
            self._log.critical("reading_not_stored", uuid=f"{uuid:04x}", hex=raw.hex(), error=str(error))
            self._fatal = error
            self._disconnected.set()

    def _store(self, uuid: int, raw: bytes, gateway_time: datetime) -> None:
        try:
            measurement = decode_characteristic(uuid, raw)
        except DecodeError as error:
            self.report.malformed += 1
            self._log.error("malformed_payload", uuid=f"{uuid:04x}", hex=raw.hex(), offset=error.offset,
                            expected=error.expected)
            self.store.record_malformed(self.address, uuid, raw, str(error))
            return
        try:
            reading = build_reading(
                measurement,
                raw=raw,
                device=self._identity,
                gateway_time=gateway_time,
                clock=self._clock,
                zone=self.config.zone,
                battery_level=self.report.battery,
            )
        except UnsupportedReading as error:
            self._log.info("not_a_measurement", uuid=f"{uuid:04x}", hex=raw.hex(), error=str(error))
            return
        result = self.sink(reading)
        if result is AddResult.STORED:
            self.report.stored += 1
            self.report.reading_ids.append(reading.reading_id)
        else:
            self.report.duplicates += 1
        if reading.timing.clamped_from is not None:
            self._log.warning("measured_at_in_future_replaced", reading_id=reading.reading_id,
                              estimate=reading.timing.clamped_from.isoformat())
        if isinstance(measurement, GlucoseMeasurement):
            self.store.set_last_sequence(self.address, measurement.sequence_number)
        self._log.info(
            "reading_received",
            reading_id=reading.reading_id,
            kind=reading.reading.kind.value,
            result=result.value,
            measured_at=utc_text(reading.measured_at),
            time_source=reading.reading.time_source.value,
            invalid_values=reading.reading.invalid_values,
        )

    async def _disconnect(self) -> None:
        client = self._client
        if client is None:
            return
        self.report.device_disconnected = self._disconnected.is_set()
        with contextlib.suppress(BleakError, TimeoutError, OSError, EOFError):
            await asyncio.wait_for(client.disconnect(), timeout=DISCONNECT_TIMEOUT_S)
        if self.report.complete:
            self._enter(Step.DONE)
