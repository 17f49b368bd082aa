"""Settings of ``homevitals broker``: ``API_BROKER_*`` variables, read once at the edge."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from api.broker.bootstrap import HubAccounts
from api.broker.dynsec import DynsecAdmin, TlsOptions
from homevitals.contract.models import is_valid_gateway_id
from homevitals.errors import ConfigurationError
from homevitals.settings import ServiceSettings


class BrokerAdminSettings(ServiceSettings):
    """How the hub reaches the broker as its admin, and the hub accounts it keeps there."""

    model_config = SettingsConfigDict(env_prefix="API_BROKER_", extra="ignore", env_file=None)

    host: str = Field(default="localhost", description="Broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port.")
    admin_username: str = Field(default="hub_admin", description="The dynsec admin account.")
    admin_password: SecretStr | None = Field(default=None, description="Its password.")
    tls: bool = Field(default=False, description="Connect with TLS.")
    ca_file: Path | None = Field(default=None, description="CA bundle; system CAs when unset.")
    cert_file: Path | None = Field(default=None, description="Client certificate (PEM).")
    key_file: Path | None = Field(default=None, description="Client certificate key (PEM).")
    timeout_s: float = Field(default=5.0, gt=0, le=120, description="Wait this long for each answer.")

    ingest_password: SecretStr | None = Field(default=None, description="Password of the ingest accounts.")
    ingest_client_ids: list[str] = Field(
        default_factory=lambda: ["homevitals-ingest-1", "homevitals-ingest-2"],
        description="One per ingest worker (its INGEST_MQTT_CLIENT_ID); worker n logs in as hub_ingest_n.",
    )
    share_group: str = Field(
        default="ingest", pattern=r"^[A-Za-z0-9_-]+$", description="The workers' INGEST_MQTT_SHARE_GROUP."
    )
    gateway_accounts: str = Field(
        default="", description="Gateways made at set-up, one 'gateway_id:password' a line (simulated homes)."
    )

    @field_validator("admin_password", "ingest_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value else value

    @model_validator(mode="after")
    def _tls_pairs(self) -> BrokerAdminSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("set both API_BROKER_CERT_FILE and API_BROKER_KEY_FILE, or neither")
        return self

    def _required(self, setting: str, value: SecretStr | None) -> SecretStr:
        if value is None:
            raise ConfigurationError(setting, "is not set (see docs/deployment.md, 'The broker')")
        self.require_secret(setting, value.get_secret_value())
        return value

    def admin(self) -> DynsecAdmin:
        tls = TlsOptions(self.ca_file, self.cert_file, self.key_file) if self.tls else None
        return DynsecAdmin(
            host=self.host,
            port=self.port,
            username=self.admin_username,
            password=self._required("API_BROKER_ADMIN_PASSWORD", self.admin_password),
            tls=tls,
            timeout=self.timeout_s,
        )

    def hub_accounts(self) -> HubAccounts:
        return HubAccounts(
            ingest_password=self._required("API_BROKER_INGEST_PASSWORD", self.ingest_password),
            ingest_client_ids=tuple(self.ingest_client_ids),
            share_group=self.share_group,
            gateways=self._gateways(),
        )

    def _gateways(self) -> dict[str, SecretStr]:
        gateways: dict[str, SecretStr] = {}
        for raw in self.gateway_accounts.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            gateway_id, separator, password = line.partition(":")
            if not separator or not is_valid_gateway_id(gateway_id):
                raise ConfigurationError(
                    "API_BROKER_GATEWAY_ACCOUNTS", f"{gateway_id!r}: want 'gateway_id:password' per line"
                )
            self.require_secret(f"API_BROKER_GATEWAY_ACCOUNTS ({gateway_id})", password)
            gateways[gateway_id] = SecretStr(password)
        return gateways
