"""``homevitals gateway pair``: the pairing window.

Scan for the health services; the first device that is not yet on the allow-list is
connected, bonded (LE Secure Connections, Just Works, through the OS's agent on BlueZ),
asked for its Device Information, and added to the allow-list. Devices already on the list
are skipped, so a nurse can pair a second monitor while the first one is still advertising.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from gateway.allowlist import AllowedDevice, AllowList, normalize_address
from gateway.backends import BleBackend
from gateway.errors import PairingError, describe
from gateway.scanner import HEALTH_SERVICE_UUIDS, advertised_health_services
from gatt import DecodeError, decode_characteristic
from gatt.uuids import CharacteristicUUID, uuid128

log = structlog.get_logger("gateway.pairing")

_IDENTITY = {
    CharacteristicUUID.MANUFACTURER_NAME_STRING: "manufacturer",
    CharacteristicUUID.MODEL_NUMBER_STRING: "model",
    CharacteristicUUID.SERIAL_NUMBER_STRING: "serial",
}


async def _first_new_device(
    backend: BleBackend, allowlist: AllowList, timeout_s: float
) -> tuple[BLEDevice, AdvertisementData]:
    found: asyncio.Queue[tuple[BLEDevice, AdvertisementData]] = asyncio.Queue()
    announced: set[str] = set()

    def detected(device: BLEDevice, advertisement: AdvertisementData) -> None:
        address = device.address.upper()
        if address in allowlist:
            if address not in announced:
                announced.add(address)
                log.info("pairing_skips_known_device", address=address)
            return
        found.put_nowait((device, advertisement))

    scanner = backend.scanner(detected, HEALTH_SERVICE_UUIDS)
    await scanner.start()
    try:
        async with asyncio.timeout(timeout_s):
            return await found.get()
    except TimeoutError:
        raise PairingError(
            f"no new health device advertised within {timeout_s:.0f} s; take a measurement "
            "(or press the device's pairing button) and try again"
        ) from None
    finally:
        with contextlib.suppress(BleakError, OSError):
            await scanner.stop()


async def _read_identity(client: BleakClient) -> dict[str, str]:
    identity: dict[str, str] = {}
    for uuid, name in _IDENTITY.items():
        if client.services.get_characteristic(uuid128(uuid)) is None:
            continue
        raw = bytes(await client.read_gatt_char(uuid128(uuid)))
        try:
            identity[name] = str(getattr(decode_characteristic(uuid, raw), "value", ""))
        except DecodeError as error:
            log.warning("device_information_malformed", uuid=f"{uuid:04x}", hex=raw.hex(), error=str(error))
    return identity


async def pair_first_new_device(
    backend: BleBackend,
    allowlist: AllowList,
    *,
    timeout_s: float = 120.0,
    bond: bool = True,
    attempts: int = 3,
) -> AllowedDevice:
    """Open the pairing window; returns the entry added to the allow-list."""
    allowlist.reload()
    device, advertisement = await _first_new_device(backend, allowlist, timeout_s)
    address = device.address.upper()
    log.info("pairing_candidate", address=address, name=advertisement.local_name, rssi=advertisement.rssi,
             services=advertised_health_services(advertisement))
    try:
        client = await backend.connect(device, disconnected_callback=lambda _client: None, attempts=attempts)
    except (BleakError, TimeoutError, OSError) as error:
        raise PairingError(f"cannot connect: {describe(error)}", address) from error
    try:
        if bond:
            await client.pair()
        # After bonding, BlueZ reports the identity address of a device that uses a private one.
        address = normalize_address(client.address) if ":" in client.address else address
        identity = await _read_identity(client)
    except (BleakError, TimeoutError, OSError) as error:
        problem = f"bonding or reading Device Information failed: {describe(error)}"
        raise PairingError(problem, address) from error
    finally:
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            await client.disconnect()
    entry = AllowedDevice(
        address=address,
        name=advertisement.local_name or device.name,
        manufacturer=identity.get("manufacturer"),
        model=identity.get("model"),
        serial=identity.get("serial"),
        services=tuple(advertised_health_services(advertisement)),
        bonded=bond,
    )
    allowlist.add(entry)
    log.info("device_paired", **entry.to_json())
    return entry
