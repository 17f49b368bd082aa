"""A real Mosquitto running the broker configuration shipped for compose.

``deploy/mosquitto/dynsec-init.sh`` creates the dynamic security plugin's file (with the real
mosquitto_ctrl) exactly as the compose job ``mosquitto-init`` does, from the same environment;
``deploy/mosquitto/mosquitto.conf`` is started with only its container paths, plugin path and
listener moved to a temporary folder and a free port. :func:`bootstrap_hub` then does what
the ``broker-init`` job does (``homevitals broker init``), over the admin connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy_support import DEPLOY
from pydantic import SecretStr

from api.broker import DynsecAdmin
from api.broker.bootstrap import HubAccounts, bootstrap
from devstack.services.mosquitto import DYNSEC_ADMIN, DYNSEC_PLUGIN, mosquitto_binary
from devstack.services.ports import free_port, wait_for_port

MOSQUITTO_DIR = DEPLOY / "mosquitto"
SHIPPED_PLUGIN = "/usr/lib/mosquitto_dynamic_security.so"  # its path in the eclipse-mosquitto image


def _give_to_broker_user(*paths: Path) -> None:
    """As root, Mosquitto drops to the 'mosquitto' user, which must reach its files."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam("mosquitto")
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def run_dynsec_init(dynsec_file: Path, init_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """dynsec-init.sh with the environment of the compose job, writing ``dynsec_file``."""
    environment = {"PATH": os.environ["PATH"], "MOSQUITTO_DYNSEC_FILE": str(dynsec_file), **init_env}
    return subprocess.run(
        ["sh", str(MOSQUITTO_DIR / "dynsec-init.sh")], env=environment, capture_output=True, text=True,
        timeout=30, check=False,
    )


def _moved(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert text.count(old) == 1, f"expected {old!r} once in the shipped config"
        text = text.replace(old, new)
    return text


@dataclass
class Broker:
    port: int
    base: Path
    admin_password: str
    tls_port: int | None = None
    ca_file: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> str:
        return (self.base / "mosquitto.log").read_text(errors="replace")

    @property
    def dynsec_file(self) -> Path:
        return self.base / "dynsec" / "dynamic-security.json"

    def admin(self) -> DynsecAdmin:
        return DynsecAdmin(
            host="127.0.0.1", port=self.port, username=DYNSEC_ADMIN, password=SecretStr(self.admin_password)
        )

    def start(self) -> None:
        with (self.base / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.base / "mosquitto.conf")], stdout=log, stderr=log
            )
        wait_for_port("127.0.0.1", self.port, timeout=15)
        if self.tls_port:
            wait_for_port("127.0.0.1", self.tls_port, timeout=15)

    def stop(self, *, crash: bool = False) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
            self.process.wait(timeout=15)
            self.process = None


def bootstrap_hub(broker: Broker, accounts: HubAccounts) -> None:
    """What ``homevitals broker init`` does in the broker-init job."""
    with broker.admin() as admin:
        bootstrap(admin, accounts, progress=lambda _line: None)


@contextlib.contextmanager
def shipped_broker(init_env: dict[str, str], *, tls: bool = False) -> Iterator[Broker]:
    base = Path(tempfile.mkdtemp(prefix="homevitals-compose-mqtt-"))
    broker: Broker | None = None
    try:
        dynsec, data, conf_d, certs = (base / name for name in ("dynsec", "data", "conf.d", "certs"))
        for folder in (dynsec, data, conf_d, certs):
            folder.mkdir()
        for shipped in (MOSQUITTO_DIR / "conf.d").iterdir():
            shutil.copy(shipped, conf_d / shipped.name)
        made = run_dynsec_init(dynsec / "dynamic-security.json", init_env)
        assert made.returncode == 0, made.stderr
        broker = Broker(port=free_port(), base=base, admin_password=init_env["MQTT_ADMIN_PASSWORD"])
        config = _moved(
            (MOSQUITTO_DIR / "mosquitto.conf").read_text(),
            {
                "\nlistener 1883\n": f"\nlistener {broker.port} 127.0.0.1\n",
                SHIPPED_PLUGIN: str(DYNSEC_PLUGIN),
                "/mosquitto/dynsec/dynamic-security.json": str(broker.dynsec_file),
                "/mosquitto/data/": f"{data}/",
                "/mosquitto/config/conf.d": str(conf_d),
            },
        )
        if tls:
            broker.tls_port = free_port()
            broker.ca_file = make_certificates(certs)
            (conf_d / "tls.conf").write_text(
                _moved(
                    (MOSQUITTO_DIR / "tls.conf.example").read_text(),
                    {"\nlistener 8883\n": f"\nlistener {broker.tls_port} 127.0.0.1\n"},
                ).replace("/mosquitto/certs/", f"{certs}/")
            )
        (base / "mosquitto.conf").write_text(config)
        _give_to_broker_user(base, dynsec, data, conf_d, certs, *certs.iterdir())
        broker.start()
        yield broker
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(base, ignore_errors=True)


def make_certificates(folder: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1, as deploy/mosquitto/certs/ expects them."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def certificate(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            import ipaddress

            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("homevitals test CA", ca_key, "homevitals test CA", ca_key, ca=True)
    server_cert = certificate("127.0.0.1", server_key, "homevitals test CA", ca_key, ca=False)
    (folder / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.crt").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (folder / "server.key").chmod(0o600)
    return folder / "ca.crt"
