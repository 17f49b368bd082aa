"""A bleak backend that reaches the virtual devices: ``BumbleScanner`` and ``BumbleClient``.

Both drive the central Bumble device of a :class:`~simulator.world.VirtualWorld`, so the code
under test uses only bleak's public API::

    async with VirtualWorld() as world:            # or HouseholdSimulation(...) as sim
        ...
        device = await BleakScanner.find_device_by_filter(
            lambda d, ad: BLOOD_PRESSURE in ad.service_uuids, backend=BumbleScanner
        )
        async with BleakClient(device, backend=BumbleClient, disconnected_callback=cb) as c:
            await c.start_notify(MEASUREMENT, on_measurement)

Which world? In this order: a ``world=`` keyword passed to ``BleakScanner``/``BleakClient``
(bleak forwards unknown keywords to the backend); for a client, the world of the ``BLEDevice``
a ``BumbleScanner`` found; the world activated with :func:`use_world`; the only running world.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid as uuid_module
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import structlog
from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, gatt, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt_client import CharacteristicProxy, Client

from simulator.controller import TEARDOWN_ERRORS, reason_name
from simulator.errors import NoWorldError
from simulator.world import VirtualWorld, running_worlds

_T = TypeVar("_T")

# The ATT MTU the central asks for, like BlueZ (which offers 517); Bumble's server caps it.
REQUESTED_MTU = 247
DEFAULT_ATT_MTU = 23  # Core Vol 3, Part F, 3.2.8: the LE default before an exchange

_log = structlog.get_logger("simulator.bleak_backend")
_current_world: ContextVar[VirtualWorld | None] = ContextVar("simulator_world", default=None)


@contextlib.contextmanager
def use_world(world: VirtualWorld) -> Iterator[VirtualWorld]:
    """Make ``world`` the one the backend talks to, in this context (and tasks it creates)."""
    token = _current_world.set(world)
    try:
        yield world
    finally:
        _current_world.reset(token)


def resolve_world(explicit: VirtualWorld | None = None) -> VirtualWorld:
    """The world a backend object should use (see the module docstring for the order)."""
    world = explicit if explicit is not None else _current_world.get()
    if world is not None:
        if not world.is_running:
            raise NoWorldError("the chosen virtual world is not running")
        return world
    running = running_worlds()
    if len(running) == 1:
        return running[0]
    if not running:
        raise NoWorldError("no virtual world is running")
    raise NoWorldError(f"{len(running)} virtual worlds are running and none was chosen")


@dataclass(frozen=True)
class BumbleDeviceDetails:
    """``BLEDevice.details`` for devices found by ``BumbleScanner``."""

    world: VirtualWorld
    address: str


def bleak_uuid(value: UUID) -> str:
    """A Bumble UUID in bleak's normalized 128-bit string form."""
    return str(uuid_module.UUID(bytes=value.to_bytes(force_128=True)[::-1]))


def _property_names(properties: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if properties & bit]


# ---------------------------------------------------------------------------------- scanner
def _advertisement_data(advertisement: Advertisement, rssi: int) -> AdvertisementData:
    data: AdvertisingData = advertisement.data
    raw = data.ad_structures
    names = [v for t, v in raw if t == AdvertisingData.Type.COMPLETE_LOCAL_NAME]
    names += [v for t, v in raw if t == AdvertisingData.Type.SHORTENED_LOCAL_NAME]
    uuid_sizes = {
        AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
        AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
        AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
        AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
        AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
        AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
    }
    service_uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    manufacturer_data: dict[int, bytes] = {}
    tx_power: int | None = None
    for ad_type, value in raw:
        if (size := uuid_sizes.get(ad_type)) is not None:
            for offset in range(0, len(value) - size + 1, size):
                text = bleak_uuid(UUID.from_bytes(value[offset : offset + size]))
                if text not in service_uuids:
                    service_uuids.append(text)
        elif ad_type == AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID and len(value) >= 2:
            service_data[bleak_uuid(UUID.from_bytes(value[:2]))] = value[2:]
        elif ad_type == AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA and len(value) >= 2:
            manufacturer_data[struct.unpack_from("<H", value)[0]] = value[2:]
        elif ad_type == AdvertisingData.Type.TX_POWER_LEVEL and value:
            tx_power = struct.unpack("b", value[:1])[0]
    return AdvertisementData(
        local_name=names[0].decode(errors="replace") if names else None,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=rssi,
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """Scans the virtual world with its central (always active scanning).

    Extra keyword: ``world`` (a :class:`VirtualWorld`), passed through ``BleakScanner(...)``.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        world: VirtualWorld | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        del scanning_mode, kwargs  # bluez=/cb= platform arguments mean nothing here
        if self._service_uuids is not None:
            self._service_uuids = [normalize_uuid_str(u) for u in self._service_uuids]
        self._world_arg = world
        self._world: VirtualWorld | None = None

    async def start(self) -> None:
        world = resolve_world(self._world_arg)
        self.seen_devices = {}
        self._world = world
        await world.add_scan_listener(self._on_advertisement)

    async def stop(self) -> None:
        world, self._world = self._world, None
        if world is not None:
            await world.remove_scan_listener(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        world = self._world
        if world is None:
            return
        address = str(advertisement.address).split("/")[0]
        virtual = world.find(address)
        # Bumble's link reports every packet at -50 dBm; the scenario says how far away it is.
        rssi = virtual.profile.rssi if virtual is not None else advertisement.rssi
        data = _advertisement_data(advertisement, rssi)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        device = self.create_or_update_device(
            address, address, data.local_name, BumbleDeviceDetails(world, address), data
        )
        self.call_detection_callbacks(device, data)


# ---------------------------------------------------------------------------------- client
class BumbleClient(BaseBleakClient):
    """Connects the world's central to one virtual device and speaks GATT to it.

    Extra keyword: ``world`` (a :class:`VirtualWorld`), passed through ``BleakClient(...)``.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 30.0,
        services: Iterable[str] | None = None,
        world: VirtualWorld | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        del kwargs  # bluez=/winrt= platform arguments mean nothing here
        self.address = self.address.upper()
        advertised_name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            advertised_name = address_or_ble_device.name
            details = address_or_ble_device.details
            if world is None and isinstance(details, BumbleDeviceDetails):
                world = details.world
        self._advertised_name = advertised_name
        self._world_arg = world
        self._requested_services = (
            None if services is None else {normalize_uuid_str(s) for s in services}
        )
        self._world: VirtualWorld | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnected = asyncio.Event()
        self._notify_handlers: dict[int, tuple[dict[int, set[Any]], Callable[[bytes], None]]] = {}

    # ------------------------------------------------------------------ properties
    @property
    def name(self) -> str:
        if self._advertised_name:
            return self._advertised_name
        if self._world is not None and (device := self._world.find(self.address)) is not None:
            return device.name
        return self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        connection = self._connection
        return int(connection.att_mtu) if connection is not None else DEFAULT_ATT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # ------------------------------------------------------------------ connection
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        world = resolve_world(self._world_arg)
        if world.find(self.address) is None:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            )
        self._world = world
        timeout = float(kwargs.get("timeout", self._timeout))
        connection = await world.connect(self.address, timeout)
        self._connection = connection
        self._disconnected = asyncio.Event()
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        try:
            async with asyncio.timeout(timeout):
                await self._gatt(peer.request_mtu(REQUESTED_MTU))
                await self._restore_security(world, connection)
                if pair:
                    await self.pair()
                self.services = await self._discover(peer)
        except BaseException:
            await self.disconnect()
            raise
        _log.debug("connected", address=self.address, mtu=self.mtu_size)

    async def _restore_security(self, world: VirtualWorld, connection: Connection) -> None:
        """Encrypt with the stored key of an earlier bond, as the OS stack would."""
        keystore = world.central.keystore
        if keystore is None or await keystore.get(str(connection.peer_address)) is None:
            return
        try:
            await self._gatt(connection.encrypt())
        except BleakError as error:
            # The device forgot the bond: carry on unencrypted; the device will refuse what
            # needs security and the caller can pair() again.
            _log.warning("stored key rejected", address=self.address, error=str(error))

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(*TEARDOWN_ERRORS):
            await connection.disconnect()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._disconnected.wait()

    def _on_disconnection(self, reason: int) -> None:
        _log.debug("disconnected", address=self.address, reason=reason_name(reason))
        self._connection = None
        self._peer = None
        self.services = None
        self._notify_handlers.clear()
        self._disconnected.set()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """LE Secure Connections pairing with bonding (Just Works)."""
        del args, kwargs  # protection levels and agents do not apply to Just Works
        connection = self._require_connection()
        await self._gatt(connection.pair())
        _log.debug("paired", address=self.address, encrypted=connection.is_encrypted)

    async def unpair(self) -> None:
        """Forget the bond on the gateway's side, and disconnect (as BlueZ does)."""
        world = self._world or resolve_world(self._world_arg)
        keystore = world.central.keystore
        if keystore is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(self.address)
        await self.disconnect()

    # ------------------------------------------------------------------ GATT
    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    def _require_client(self) -> Client:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer.gatt_client

    async def _gatt(self, operation: Awaitable[_T]) -> _T:
        """Run one Bumble operation; map its errors to bleak's; fail fast on disconnection."""
        task = asyncio.ensure_future(operation)
        if self._connection is None:
            task.cancel()
            raise BleakError("Not connected")
        gone = asyncio.ensure_future(self._disconnected.wait())
        try:
            await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            gone.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, *TEARDOWN_ERRORS):
                await task
            raise BleakError(f"{self.address} disconnected")
        if task.cancelled():
            # Bumble cancels requests that were in flight when the link went down.
            raise BleakError(f"{self.address} disconnected")
        try:
            return task.result()
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(error.error_code) from error
        except (core.TimeoutError, TimeoutError) as error:
            raise TimeoutError(f"{self.address} did not answer in time") from error
        except (hci.HCI_Error, core.BaseBumbleError) as error:
            raise BleakError(f"{self.address}: {error}") from error

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in await self._gatt(peer.discover_services()):
            service_uuid = bleak_uuid(service.uuid)
            if self._requested_services is not None and service_uuid not in self._requested_services:
                continue
            bleak_service = BleakGATTService(service, service.handle, service_uuid)
            collection.add_service(bleak_service)
            for characteristic in await self._gatt(service.discover_characteristics()):
                bleak_characteristic = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    _property_names(int(characteristic.properties)),
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_characteristic)
                for descriptor in await self._gatt(characteristic.discover_descriptors()):
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            bleak_uuid(descriptor.type),
                            bleak_characteristic,
                        )
                    )
        return collection

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        del kwargs  # platform-specific read options do not apply
        client = self._require_client()
        if use_cached and (cached := client.cached_values.get(characteristic.handle)) is not None:
            return bytearray(cached[1])
        return bytearray(await self._gatt(client.read_value(characteristic.handle)))

    async def read_gatt_descriptor(
        self,
        descriptor: BleakGATTDescriptor,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        del kwargs  # platform-specific read options do not apply
        client = self._require_client()
        if use_cached and (cached := client.cached_values.get(descriptor.handle)) is not None:
            return bytearray(cached[1])
        return bytearray(await self._gatt(client.read_value(descriptor.handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        client = self._require_client()
        await self._gatt(
            client.write_value(characteristic.handle, bytes(data), with_response=response)
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        client = self._require_client()
        await self._gatt(client.write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        """Enable notifications, or indications (each confirmed by Bumble's ATT client)."""
        del kwargs  # bluez=/cb= notify options do not apply
        client = self._require_client()
        proxy = characteristic.obj
        if not isinstance(proxy, CharacteristicProxy):
            raise BleakError(f"{characteristic.uuid} was not discovered by this backend")
        cccd = characteristic.get_descriptor(
            bleak_uuid(gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR)
        )
        if cccd is None:
            raise BleakError(f"{characteristic.uuid} has no Client Characteristic Configuration")
        # Prefer notifications when both are offered, as bleak's backends do.
        if proxy.properties & gatt.Characteristic.Properties.NOTIFY:
            bits = gatt.ClientCharacteristicConfigurationBits.NOTIFICATION
            table = client.notification_subscribers
        elif proxy.properties & gatt.Characteristic.Properties.INDICATE:
            bits = gatt.ClientCharacteristicConfigurationBits.INDICATION
            table = client.indication_subscribers
        else:
            raise BleakError(f"{characteristic.uuid} supports neither notify nor indicate")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        handle = characteristic.handle
        self._remove_handler(handle)
        # Register before writing the CCCD: a device may indicate right after the Write
        # Response (stored records), before this coroutine resumes.
        table.setdefault(handle, set()).add(on_value)
        self._notify_handlers[handle] = (table, on_value)
        try:
            await self._gatt(
                client.write_value(cccd.handle, struct.pack("<H", bits), with_response=True)
            )
        except BaseException:
            self._remove_handler(handle)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        client = self._require_client()
        self._remove_handler(characteristic.handle)
        cccd = characteristic.get_descriptor(
            bleak_uuid(gatt.GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR)
        )
        if cccd is not None:
            await self._gatt(client.write_value(cccd.handle, b"\x00\x00", with_response=True))

    def _remove_handler(self, handle: int) -> None:
        entry = self._notify_handlers.pop(handle, None)
        if entry is None:
            return
        table, handler = entry
        handlers = table.get(handle)
        if handlers is not None:
            handlers.discard(handler)
            if not handlers:
                del table[handle]


__all__ = [
    "BumbleClient",
    "BumbleDeviceDetails",
    "BumbleScanner",
    "bleak_uuid",
    "resolve_world",
    "use_world",
]
