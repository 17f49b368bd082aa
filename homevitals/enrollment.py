"""The enrollment bundle: what a gateway needs to reach its hub, handed over once.

The hub makes it (``homevitals gateway enroll``, ``POST /api/v1/gateways/{id}/enrollment``)
and the gateway consumes it (``homevitals gateway join``, or the TOML file copied by hand).
Both sides import this module, so the file the hub writes and the one ``join`` writes are
the same text, read by :class:`gateway.settings.GatewaySettings` like any config file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePath

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from homevitals.contract.models import GATEWAY_ID_PATTERN

BUNDLE_SCHEMA = "homevitals.enrollment.v1"
REDEEM_PATH = "/api/v1/enrollment/redeem"
CA_FILE_NAME = "hub-ca.pem"
# Where the installation guide puts the gateway's config and the hub's CA on the Pi.
GATEWAY_CONFIG_DIR = PurePath("/etc/homevitals")
CONFIG_MODE = 0o600
CA_MODE = 0o644


class EnrollmentBundle(BaseModel):
    """One gateway's identity and broker credentials (the password is secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_: str = Field(default=BUNDLE_SCHEMA, alias="schema", pattern=f"^{BUNDLE_SCHEMA}$")
    gateway_id: str = Field(pattern=GATEWAY_ID_PATTERN)
    mqtt_host: str = Field(min_length=1, max_length=253)
    mqtt_port: int = Field(ge=1, le=65535)
    mqtt_tls: bool
    mqtt_ca_pem: str | None = Field(
        default=None, description="PEM of the CA that signed the broker's certificate; None: system CAs."
    )
    mqtt_username: str = Field(min_length=1, max_length=256)
    mqtt_client_id: str = Field(min_length=1, max_length=256)
    mqtt_password: SecretStr

    def to_json_bytes(self) -> bytes:
        """The bundle with its password in clear: only for sealing and for the redeem answer."""
        data = self.model_dump(mode="json", by_alias=True)
        data["mqtt_password"] = self.mqtt_password.get_secret_value()
        return json.dumps(data, separators=(",", ":")).encode()

    def to_toml(self, *, ca_file: PurePath | None = None) -> str:
        """The gateway's config file (docs/gateway.md keys). ``ca_file``: where the CA PEM lies."""
        lines = [
            f"# homevitals gateway {self.gateway_id}: written from its one-time enrollment bundle.",
            "# It holds the gateway's broker password: keep it mode 0600, owned by the service user.",
            f"id = {_toml_string(self.gateway_id)}",
            'environment = "production"',
            f"mqtt_host = {_toml_string(self.mqtt_host)}",
            f"mqtt_port = {self.mqtt_port}",
            f"mqtt_tls = {'true' if self.mqtt_tls else 'false'}",
            f"mqtt_username = {_toml_string(self.mqtt_username)}",
            f"mqtt_client_id = {_toml_string(self.mqtt_client_id)}",
            f"mqtt_password = {_toml_string(self.mqtt_password.get_secret_value())}",
        ]
        if ca_file is not None:
            lines.append(f"mqtt_ca_file = {_toml_string(str(ca_file))}")
        return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string for everything these fields may hold.
    return json.dumps(value, ensure_ascii=False)


def write_private(path: Path, text: str, mode: int) -> None:
    """Atomic and durable: a temporary file created with ``mode`` (never wider, whatever the
    umask), fsync, rename, fsync of the folder. Raises ``OSError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def write_bundle_files(
    bundle: EnrollmentBundle, config_path: Path, *, ca_reference: PurePath | None = None
) -> Path | None:
    """The gateway's config file (0600) and, when the bundle has one, the CA beside it (0644).

    ``ca_reference``: where the config says the CA is, when the files are made on the hub to be
    copied to the gateway (default: where it was written). Returns the CA's path, or None.
    Raises ``OSError``."""
    ca_path = None
    if bundle.mqtt_ca_pem:
        ca_path = config_path.parent / CA_FILE_NAME
        write_private(ca_path, bundle.mqtt_ca_pem, CA_MODE)
    reference = (ca_reference or ca_path) if ca_path is not None else None
    write_private(config_path, bundle.to_toml(ca_file=reference), CONFIG_MODE)
    return ca_path
