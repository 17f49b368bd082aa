"""A local Mosquitto broker with its own config, on a free port.

Mosquitto's defaults (20 messages in flight, 1,000 queued per client) silently drop QoS 1
messages for a subscriber that holds its acks. Every config homevitals writes lifts both
limits on purpose: see docs/mosquitto.md.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from devstack.services.errors import ServiceStartError
from devstack.services.ports import free_port, wait_for_port
from homevitals.contract.models import MAX_MESSAGE_BYTES

# Limits that keep a manual-ack subscriber's QoS 1 backlog intact (0 = unlimited).
NO_DROP_LIMITS = """\
max_inflight_messages 0
max_queued_messages 0
max_queued_bytes 0
"""


def _dynsec_plugin() -> Path:
    """Debian's mosquitto package puts it under the architecture's lib folder (x86_64, aarch64...)."""
    found = sorted(Path("/usr/lib").glob("*/mosquitto_dynamic_security.so"))
    return found[0] if found else Path("/usr/lib/mosquitto_dynamic_security.so")


DYNSEC_PLUGIN = _dynsec_plugin()
DYNSEC_ADMIN = "hub_admin"


def mosquitto_binary() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise ServiceStartError("mosquitto", "mosquitto not installed; run scripts/setup")


class LocalMosquitto:
    """Start and stop a private broker. ``extra_config`` is appended to the generated file."""

    def __init__(
        self,
        port: int | None = None,
        *,
        state_dir: Path | None = None,
        extra_config: str = "",
        allow_anonymous: bool = True,
        dynsec: bool = False,
        admin_password: str | None = None,
    ) -> None:
        self._owned_tmp = state_dir is None
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="homevitals-mqtt-"))
        self.port = port or free_port()
        self.extra_config = extra_config
        # Dynamic security: accounts and ACLs live in the plugin's JSON file, managed at run
        # time over $CONTROL/dynamic-security/v1; only the admin exists at start. Pass the
        # admin password to reuse a state_dir (its file keeps the first one).
        self.dynsec = dynsec
        self.allow_anonymous = allow_anonymous and not dynsec
        self.dynsec_path = self.state_dir / "dynamic-security.json"
        self.admin_password = (admin_password or secrets.token_urlsafe(24)) if dynsec else ""
        self.config_path = self.state_dir / "mosquitto.conf"
        self.log_path = self.state_dir / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        user_line = ""
        if os.geteuid() == 0:
            # Mosquitto drops root privileges to this user; it must own the state folder.
            try:
                entry = pwd.getpwnam("mosquitto")
                os.chown(self.state_dir, entry.pw_uid, entry.pw_gid)
                user_line = "user mosquitto\n"
            except KeyError:
                user_line = "user root\n"
        self.config_path.write_text(
            f"{user_line}"
            f"listener {self.port} 127.0.0.1\n"
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}\n"
            "persistence true\n"
            f"persistence_location {self.state_dir}/\n"
            "autosave_interval 1\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            f"{NO_DROP_LIMITS}"
            f"{self._dynsec_config()}"
            f"{self.extra_config}\n",
            encoding="utf-8",
        )

    def _dynsec_config(self) -> str:
        if not self.dynsec:
            return ""
        if not DYNSEC_PLUGIN.exists():
            raise ServiceStartError("mosquitto", f"{DYNSEC_PLUGIN} not installed; run scripts/setup")
        if not self.dynsec_path.exists():
            ctrl = shutil.which("mosquitto_ctrl") or "/usr/bin/mosquitto_ctrl"
            result = subprocess.run(  # noqa: S603
                [ctrl, "dynsec", "init", str(self.dynsec_path), DYNSEC_ADMIN, self.admin_password],
                capture_output=True, text=True, timeout=30, check=False,
            )
            if result.returncode != 0:
                raise ServiceStartError("mosquitto", "mosquitto_ctrl dynsec init failed", result.stderr)
            if os.geteuid() == 0:
                # The plugin rewrites this file on every change, as the broker user.
                try:
                    entry = pwd.getpwnam("mosquitto")
                    os.chown(self.dynsec_path, entry.pw_uid, entry.pw_gid)
                except KeyError:
                    pass
        # As deploy/mosquitto/mosquitto.conf: the contract's largest message, nothing above.
        return (
            f"plugin {DYNSEC_PLUGIN}\nplugin_opt_config_file {self.dynsec_path}\n"
            f"message_size_limit {MAX_MESSAGE_BYTES}\n"
        )

    def start(self) -> Self:
        self.write_config()
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: S603
            [mosquitto_binary(), "-c", str(self.config_path)], stdout=log, stderr=log
        )
        log.close()
        try:
            wait_for_port("127.0.0.1", self.port, timeout=15)
        except TimeoutError as error:
            self.stop()
            raise ServiceStartError(
                "mosquitto", str(error), self.log_path.read_text(errors="replace")
            ) from error
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def kill9(self) -> None:
        """Crash the broker (SIGKILL): what it had not autosaved is gone (chaos tests)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def close(self) -> None:
        self.stop()
        if self._owned_tmp:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
