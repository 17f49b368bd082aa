"""A real Mosquitto running the broker configuration shipped for compose.

``deploy/mosquitto/make-auth.sh`` writes the password file (with the real mosquitto_passwd)
and installs the ACL, exactly as the compose job ``mosquitto-auth`` does, from the same
environment; ``deploy/mosquitto/mosquitto.conf`` is started with only its container paths and
listener moved to a temporary folder and a free port.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy_support import DEPLOY

from devstack.services.mosquitto import mosquitto_binary
from devstack.services.ports import free_port, wait_for_port

MOSQUITTO_DIR = DEPLOY / "mosquitto"


def _give_to_broker_user(*paths: Path) -> None:
    """As root, Mosquitto drops to the 'mosquitto' user, which must reach its files."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam("mosquitto")
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def run_make_auth(auth_dir: Path, auth_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """make-auth.sh with the environment of the compose job, writing into ``auth_dir``."""
    environment = {
        "PATH": os.environ["PATH"],
        "MOSQUITTO_AUTH_DIR": str(auth_dir),
        "MOSQUITTO_ACL_SOURCE": str(MOSQUITTO_DIR / "acl"),
        **auth_env,
    }
    return subprocess.run(
        ["sh", str(MOSQUITTO_DIR / "make-auth.sh")], env=environment, capture_output=True, text=True, timeout=30,
        check=False,
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
    tls_port: int | None = None
    ca_file: Path | None = None

    @property
    def log(self) -> str:
        return (self.base / "mosquitto.log").read_text(errors="replace")


@contextlib.contextmanager
def shipped_broker(auth_env: dict[str, str], *, tls: bool = False) -> Iterator[Broker]:
    base = Path(tempfile.mkdtemp(prefix="homevitals-compose-mqtt-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        auth, data, conf_d, certs = (base / name for name in ("auth", "data", "conf.d", "certs"))
        for folder in (data, conf_d, certs):
            folder.mkdir()
        for shipped in (MOSQUITTO_DIR / "conf.d").iterdir():
            shutil.copy(shipped, conf_d / shipped.name)
        made = run_make_auth(auth, auth_env)
        assert made.returncode == 0, made.stderr
        broker = Broker(port=free_port(), base=base)
        config = _moved(
            (MOSQUITTO_DIR / "mosquitto.conf").read_text(),
            {
                "\nlistener 1883\n": f"\nlistener {broker.port} 127.0.0.1\n",
                "/mosquitto/auth/passwd": str(auth / "passwd"),
                "/mosquitto/auth/acl": str(auth / "acl"),
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
        _give_to_broker_user(base, data, conf_d, certs, *certs.iterdir())
        with (base / "mosquitto.log").open("wb") as log:
            process = subprocess.Popen([mosquitto_binary(), "-c", str(base / "mosquitto.conf")], stdout=log, stderr=log)
        wait_for_port("127.0.0.1", broker.port, timeout=15)
        if broker.tls_port:
            wait_for_port("127.0.0.1", broker.tls_port, timeout=15)
        yield broker
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=15)
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
