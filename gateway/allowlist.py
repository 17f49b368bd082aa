"""The devices this gateway serves, persisted as JSON in the data directory.

A health device is read only when its address is on the list; anything else is counted and
ignored, so the neighbour's monitor through the wall never ends up in this citizen's record.
``homevitals gateway pair`` adds entries; the running service notices the file changing.

Writes are atomic (temporary file, fsync, rename, fsync of the folder), so a power cut
leaves either the old list or the new one, never half a file.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.errors import AllowListError

FORMAT_VERSION = 1
_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def normalize_address(address: str) -> str:
    """``a4:c1:38:00:11:22`` -> ``A4:C1:38:00:11:22``; raises ValueError for anything else."""
    normalized = address.strip().upper().replace("-", ":")
    if not _ADDRESS.match(normalized):
        raise ValueError(f"not a Bluetooth address: {address!r} (expected AA:BB:CC:DD:EE:FF)")
    return normalized


@dataclass(frozen=True, slots=True)
class AllowedDevice:
    address: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    services: tuple[str, ...] = ()
    bonded: bool = False
    added_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AllowedDevice:
        return cls(
            address=normalize_address(str(data["address"])),
            name=data.get("name"),
            manufacturer=data.get("manufacturer"),
            model=data.get("model"),
            serial=data.get("serial"),
            services=tuple(data.get("services", ())),
            bonded=bool(data.get("bonded", False)),
            added_at=str(data.get("added_at", "")),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["services"] = list(self.services)
        return data


class AllowList:
    """The allow-list file plus the in-memory count of ignored devices."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._devices: dict[str, AllowedDevice] = {}
        self._signature: tuple[int, int, int] | None = None
        self.ignored: Counter[str] = Counter()  # address -> advertisements ignored
        self.reload()

    def reload(self) -> None:
        signature = self._file_signature()
        if signature is None:
            self._devices, self._signature = {}, None
            return
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            entries = [AllowedDevice.from_json(entry) for entry in document.get("devices", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise AllowListError(self.path, f"unreadable ({error}); fix or remove the file") from error
        self._devices = {entry.address: entry for entry in entries}
        self._signature = signature

    def _file_signature(self) -> tuple[int, int, int] | None:
        # The inode changes on every atomic replace, so two writes within one mtime tick still differ.
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def reload_if_changed(self) -> bool:
        """Pick up an edit by ``homevitals gateway pair`` in another process. True if reloaded."""
        if self._file_signature() == self._signature:
            return False
        self.reload()
        return True

    def __contains__(self, address: object) -> bool:
        return isinstance(address, str) and address.upper() in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, address: str) -> AllowedDevice | None:
        return self._devices.get(address.upper())

    @property
    def devices(self) -> list[AllowedDevice]:
        return sorted(self._devices.values(), key=lambda entry: entry.address)

    def note_ignored(self, address: str) -> bool:
        """Count an advertisement from a device not on the list; True the first time."""
        key = address.upper()
        self.ignored[key] += 1
        return self.ignored[key] == 1

    def add(self, device: AllowedDevice) -> None:
        self._devices[device.address] = device
        self._write()

    def remove(self, address: str) -> bool:
        removed = self._devices.pop(normalize_address(address), None)
        if removed is not None:
            self._write()
        return removed is not None

    def _write(self) -> None:
        document = {"version": FORMAT_VERSION, "devices": [entry.to_json() for entry in self.devices]}
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as error:
            raise AllowListError(self.path, f"cannot write ({error})") from error
        self._signature = self._file_signature()
