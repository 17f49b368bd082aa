"""The one place where a reading's id is derived (MQTT contract v1, docs/contract.md).

``reading_id`` is a UUIDv5 (RFC 9562 section 5.5) in the namespace
:data:`READING_ID_NAMESPACE` over this exact UTF-8 name::

    v1|{ADDRESS}|{user}|{clock}:{time}|{uuid}|{hex}

- ``ADDRESS``: the device's Bluetooth identity address, upper case, colon separated
  ("A4:C1:38:00:11:22");
- ``user``: the user slot as a decimal integer, or ``-`` when the device reported none;
- ``clock:time``: ``d:`` and the device's own timestamp as reported, ``YYYY-MM-DDTHH:MM:SS``
  (naive); or, when the device gave none, ``g:`` and the gateway's first-seen time in UTC,
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ``;
- ``uuid``: the characteristic's 16-bit UUID as four lower-case hex digits ("2a35");
- ``hex``: the characteristic value's raw bytes, lower-case hex without separators.

The same stored record, read again later or through another gateway, yields the same id.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from homevitals.contract.timestamps import utc_text

# uuid5(NAMESPACE_URL, "https://homevitals.dk/ns/reading-id/v1"), fixed forever for v1.
READING_ID_NAMESPACE = uuid.UUID("c19d5c69-8d54-5a91-8ebf-eb645c90cff4")

_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def reading_id_name(
    *,
    address: str,
    user_id: int | None,
    device_time: datetime | None,
    gateway_first_seen: datetime,
    characteristic_uuid: int,
    raw: bytes,
) -> str:
    """Return the exact UUIDv5 name string (exposed so the docs and tests can show it)."""
    normalized = address.upper()
    if not _ADDRESS.match(normalized):
        raise ValueError(f"not a Bluetooth address: {address!r} (expected AA:BB:CC:DD:EE:FF)")
    user = "-" if user_id is None else str(user_id)
    if device_time is not None:
        if device_time.tzinfo is not None:
            raise ValueError("device_time must be naive, exactly as the device reported it")
        clock = "d:" + device_time.strftime("%Y-%m-%dT%H:%M:%S")
    else:
        if gateway_first_seen.tzinfo is None:
            raise ValueError("gateway_first_seen must be timezone-aware (UTC)")
        clock = "g:" + utc_text(gateway_first_seen)
    return f"v1|{normalized}|{user}|{clock}|{characteristic_uuid:04x}|{raw.hex()}"


def derive_reading_id(
    *,
    address: str,
    user_id: int | None,
    device_time: datetime | None,
    gateway_first_seen: datetime,
    characteristic_uuid: int,
    raw: bytes,
) -> uuid.UUID:
    """Derive the deterministic ``reading_id`` of one device record."""
    name = reading_id_name(
        address=address,
        user_id=user_id,
        device_time=device_time,
        gateway_first_seen=gateway_first_seen,
        characteristic_uuid=characteristic_uuid,
        raw=raw,
    )
    return uuid.uuid5(READING_ID_NAMESPACE, name)
