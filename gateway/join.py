"""``homevitals gateway join``: trade the one-time enrollment code for this gateway's config.

The installer types the code the hub's operator gave them. The gateway posts it once to the
hub's API (``POST /api/v1/enrollment/redeem``), gets the bundle (gateway id, broker address,
user name, client id, password, the broker's CA) and writes it as its TOML config file, mode
0600, plus the CA next to it. The code then is spent: a second join is refused by the hub.

Only the standard library talks HTTP here, so the Pi needs nothing beyond the gateway extra.
"""

from __future__ import annotations

import json
import os
import pwd
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError

from gateway.errors import JoinError
from homevitals.enrollment import REDEEM_PATH, EnrollmentBundle, write_bundle_files

_MAX_ANSWER_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class JoinedConfig:
    gateway_id: str
    config_path: Path
    ca_path: Path | None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_hub_url(hub: str, *, allow_http: bool = False) -> str:
    """The redeem URL for ``hub``; plain http only to this machine or when allowed explicitly
    (the answer carries the broker password)."""
    parts = urlsplit(hub)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise JoinError(f"--hub must be the hub's address, e.g. https://hub.example.dk (got {hub!r})")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise JoinError(
            f"{hub} is plain http: the answer holds this gateway's broker password. Use the hub's "
            "https address (or --allow-http on a network you trust)"
        )
    return hub.rstrip("/") + REDEEM_PATH


def redeem(url: str, code: str, *, ca_file: Path | None = None, timeout_s: float = 30.0) -> EnrollmentBundle:
    """POST the code; the bundle, or a :class:`JoinError` with the hub's own explanation."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by check_hub_url
        url,
        data=json.dumps({"code": code}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as answer:  # noqa: S310
            body = answer.read(_MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as error:
        raise _refusal(error) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise JoinError(f"cannot reach the hub at {url}: {reason}; check --hub and the network") from error
    try:
        return EnrollmentBundle.model_validate_json(body)
    except ValidationError as error:
        problem = f"the hub's answer is not an enrollment bundle ({error.error_count()} errors)"
        raise JoinError(problem) from error


def _refusal(error: urllib.error.HTTPError) -> JoinError:
    try:
        problem = json.loads(error.read(_MAX_ANSWER_BYTES))
        detail = str(problem.get("detail") or error.reason)
        kind = problem.get("type")
    except (ValueError, AttributeError, OSError):
        detail, kind = str(error.reason), None
    return JoinError(detail, status=error.code, problem_type=kind if isinstance(kind, str) else None)


def check_writable(config_path: Path, *, overwrite: bool) -> None:
    """Before spending the code: refuse to replace an existing config unless told to."""
    if config_path.exists() and not overwrite:
        raise JoinError(
            f"{config_path} exists already; this gateway may be enrolled. Pass --force to replace it "
            "(the old credentials stop working once the hub revokes them)"
        )


def write_config(bundle: EnrollmentBundle, config_path: Path, *, owner: str | None = None) -> JoinedConfig:
    """The config file (0600) and, when the bundle carries one, the broker's CA beside it.

    ``owner``: the service user who must read the file (``join`` runs as root to write /etc)."""
    try:
        ca_path = write_bundle_files(bundle, config_path)
        if owner is not None:
            entry = pwd.getpwnam(owner)
            for path in (config_path, ca_path):
                if path is not None:
                    os.chown(path, entry.pw_uid, entry.pw_gid)
    except KeyError as error:
        raise JoinError(
            f"there is no user {owner!r} to own {config_path}; the config is written, owned by root: "
            f"chown it to the service user (sudo chown homevitals: {config_path})"
        ) from error
    except OSError as error:
        raise JoinError(
            f"cannot write {config_path}: {error}. The code is spent: ask the hub's operator to revoke "
            f"gateway {bundle.gateway_id} and enroll it again"
        ) from error
    return JoinedConfig(bundle.gateway_id, config_path, ca_path)
