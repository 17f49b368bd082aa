"""Broker credentials and TLS for every paho client homevitals makes (gateway and ingest)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Protocol


class _PahoClient(Protocol):
    """The two paho ``Client`` methods used here (the core does not depend on paho)."""

    def username_pw_set(self, username: str | None, password: str | None = None) -> None: ...
    def tls_set_context(self, context: ssl.SSLContext | None = None) -> None: ...


def apply_credentials_and_tls(
    client: _PahoClient,
    *,
    username: str | None,
    password: str | None,
    tls: bool,
    ca_file: str | Path | None = None,
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
) -> None:
    """Username/password, then TLS with the system CAs (or ``ca_file``) and an optional client
    certificate (``key_file`` may be omitted when the certificate file holds the key)."""
    if username is not None:
        client.username_pw_set(username, password)
    if tls:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        if cert_file is not None:
            context.load_cert_chain(str(cert_file), str(key_file) if key_file is not None else None)
        client.tls_set_context(context)
