"""A local PostgreSQL cluster with TimescaleDB preloaded, on a free port.

PostgreSQL refuses to run as root, so when we are root every server command runs as the
``postgres`` system user (``runuser -u postgres --``) in a folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from devstack.services.errors import ServiceStartError
from devstack.services.ports import free_port, wait_for_port

SERVER_USER = "postgres"
DATABASE = "homevitals"


def postgres_bin_dir() -> Path:
    """The newest installed server's bin folder (Debian layout), or the one on PATH."""
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if (p / "bin" / "postgres").exists()),
            key=lambda p: int(p.name) if p.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin"
    found = shutil.which("postgres")
    if found is None:
        raise ServiceStartError("postgresql", "no PostgreSQL server found; run scripts/setup")
    return Path(found).parent


class LocalPostgres:
    """Start, stop and connect to a private PostgreSQL cluster.

    ``data_dir=None`` makes a throwaway cluster in a temporary folder that ``close()`` removes;
    a given ``data_dir`` is kept and reused by the next start (the native demo does that).
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        *,
        durable: bool = False,
        log_path: Path | None = None,
    ) -> None:
        self._owned_tmp = data_dir is None
        self._base = Path(tempfile.mkdtemp(prefix="homevitals-pg-")) if data_dir is None else data_dir
        self.data_dir = self._base / "data" if data_dir is None else data_dir
        self.socket_dir = self._base / "sock" if data_dir is None else data_dir.parent / "pg-sock"
        self.log_path = log_path or (
            self._base / "postgres.log" if data_dir is None else data_dir.parent / "postgres.log"
        )
        self.port = port or free_port()
        self.durable = durable
        self._bin = postgres_bin_dir()
        self._as_root = os.geteuid() == 0
        self.running = False

    # -- plumbing ------------------------------------------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self._bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)  # noqa: S603

    def _chown(self, path: Path) -> None:
        if self._as_root:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    @property
    def dsn(self) -> str:
        """Superuser URL of the ``homevitals`` database."""
        return self.dsn_for(DATABASE)

    def dsn_for(self, database: str, user: str = SERVER_USER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    # -- lifecycle -----------------------------------------------------------------------
    def initdb(self) -> bool:
        """Create the cluster unless it exists. Returns True when it was created."""
        if (self.data_dir / "PG_VERSION").exists():
            return False
        for path in (self._base, self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            self._chown(path)
        if self._as_root:
            reachable = subprocess.run(  # noqa: S603
                ["runuser", "-u", SERVER_USER, "--", "test", "-w", str(self.data_dir)],  # noqa: S607
                check=False, capture_output=True,
            )
            if reachable.returncode != 0:
                raise ServiceStartError(
                    "postgresql",
                    f"the {SERVER_USER} user cannot reach {self.data_dir}; a parent folder is not "
                    "traversable (mode 0700?). Choose a data folder outside such a parent, "
                    "or chmod o+x its parents.",
                )
        self.data_dir.chmod(0o700)
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SERVER_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            check=False,
        )
        if result.returncode != 0:
            raise ServiceStartError("postgresql", "initdb failed", result.stdout + result.stderr)
        return True

    def start(self) -> Self:
        created = self.initdb()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.socket_dir)
        if not self.log_path.exists():
            self.log_path.touch()
        self._chown(self.log_path)
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.socket_dir}",
            "-c shared_preload_libraries=timescaledb",
            "-c timescaledb.telemetry_level=off",
            "-c max_connections=200",
        ]
        if not self.durable:
            # Throwaway clusters: durability costs time and proves nothing here.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
            check=False,
        )
        if result.returncode != 0:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise ServiceStartError("postgresql", f"pg_ctl start failed: {result.stderr}", log)
        wait_for_port("127.0.0.1", self.port, timeout=30)
        self.running = True
        if created:
            self.execute("postgres", f"CREATE DATABASE {DATABASE}")
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)
            self.running = False

    def execute(self, database: str, sql: str) -> str:
        """Run SQL through psql as the superuser; returns its unaligned output."""
        result = subprocess.run(  # noqa: S603
            [
                str(self._bin / "psql") if (self._bin / "psql").exists() else "psql",
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                SERVER_USER,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceStartError("postgresql", f"psql failed: {sql[:80]}", result.stderr)
        return result.stdout.strip()

    def close(self) -> None:
        self.stop("immediate" if self._owned_tmp else "fast")
        if self._owned_tmp:
            shutil.rmtree(self._base, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
