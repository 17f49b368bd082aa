"""CPU seconds of groups of processes, read from /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.services.postgres import LocalPostgres

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children_of(ppid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                pids.append(int(entry.name))
    return pids


def _machine_busy() -> tuple[float, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / _TICKS, sum(fields) / _TICKS


@dataclass
class CpuProbe:
    """CPU seconds used by named groups of processes between start() and stop()."""

    groups: dict[str, Callable[[], list[int]]]
    _start: dict[str, dict[int, float]] = field(default_factory=dict)
    _machine: tuple[float, float] = (0.0, 0.0)

    def start(self) -> None:
        self._start = {name: {pid: cpu_seconds(pid) for pid in find()} for name, find in self.groups.items()}
        self._machine = _machine_busy()

    def stop(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, find in self.groups.items():
            before = self._start.get(name, {})
            used[name] = sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in find())
        busy, total = _machine_busy()
        used["machine_busy_fraction"] = (busy - self._machine[0]) / max(1e-9, total - self._machine[1])
        return used


def postgres_pids(server: LocalPostgres | None) -> Callable[[], list[int]]:
    def find() -> list[int]:
        if server is None:
            return []
        pid_file = server.data_dir / "postmaster.pid"
        try:
            master = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [master, *_children_of(master)]

    return find


def pids_matching(needle: str) -> Callable[[], list[int]]:
    def find() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if needle.encode() in (entry / "cmdline").read_bytes():
                        pids.append(int(entry.name))
        return pids

    return find
