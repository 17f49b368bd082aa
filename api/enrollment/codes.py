"""One-time enrollment codes and the sealed bundle: pure functions, no I/O.

A code is 12 Crockford base32 characters in three groups (``7KQM-3TZX-H9PA``): 60 random
bits, easy to read aloud and to type on a Pi. The database keeps only its SHA-256 (to find
the row) and the bundle sealed with AES-256-GCM under a key scrypt derives from the code, so
neither a database dump nor a backup reveals a broker password.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.errors import InvalidRequest

# Crockford's alphabet: no I, L, O, U, so nothing is misread.
ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS: Final = 3
GROUP_LENGTH: Final = 4
CODE_LENGTH: Final = GROUPS * GROUP_LENGTH
_READ_AS: Final = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
# scrypt work factor: about 30 ms and 16 MiB here, once per redeem; the code is the secret.
_SCRYPT_N: Final = 2**14
_SCRYPT_R: Final = 8
_NONCE_BYTES: Final = 12
SALT_BYTES: Final = 16
PASSWORD_BYTES: Final = 32


class SealBroken(Exception):
    """The sealed bundle does not open with this code (tampered, or another row's)."""


def new_code() -> str:
    """A fresh code, grouped for reading: ``XXXX-XXXX-XXXX``."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(chars[i : i + GROUP_LENGTH] for i in range(0, CODE_LENGTH, GROUP_LENGTH))


def normalize_code(text: str) -> str:
    """What the installer typed -> the 12 canonical characters (case, dashes, O/0, I/L/1)."""
    code = text.strip().upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise InvalidRequest(
            f"an enrollment code is {CODE_LENGTH} characters from {ALPHABET} "
            "(dashes optional), e.g. 7KQM-3TZX-H9PA; check what you typed"
        )
    return code


def code_hash(code: str) -> bytes:
    """The row key of a code: SHA-256 of its canonical form."""
    return hashlib.sha256(b"homevitals-enrollment-code|" + normalize_code(code).encode()).digest()


def _key(code: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        normalize_code(code).encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=1, dklen=32,
        maxmem=64 * 1024 * 1024,
    )


def seal(bundle: bytes, code: str, salt: bytes) -> bytes:
    """``nonce || AES-GCM(bundle)`` under the code's key; the salt goes in its own column."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_key(code, salt)).encrypt(nonce, bundle, b"homevitals-enrollment-v1")


def unseal(sealed: bytes, code: str, salt: bytes) -> bytes:
    try:
        return AESGCM(_key(code, salt)).decrypt(
            sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], b"homevitals-enrollment-v1"
        )
    except InvalidTag as error:
        raise SealBroken("the sealed enrollment bundle does not open with this code") from error


def new_password() -> str:
    """A broker password: 256 random bits, URL-safe (no quoting trouble in TOML or shells)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)
