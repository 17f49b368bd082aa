"""``homevitals decode UUID HEX``: decode one captured characteristic value.

Prints one JSON object (keys documented in docs/decode.md) and exits 0. A payload that does
not match its characteristic prints one line to stderr, naming the UUID, the offset and the
problem, and exits 2; so do an unknown UUID and text that is not hex.
"""

from __future__ import annotations

import json
import re

import typer

from gatt import decode_characteristic, normalize_uuid
from gatt.errors import DecodeError, UnknownCharacteristic

EXIT_MALFORMED = 2
# Separators that capture tools put between bytes: spaces, colons, dashes (nRF Connect).
_SEPARATORS = re.compile(r"[\s:\-]+")
_PREFIX = re.compile(r"^\s*(?:\(0x\)|0x)", re.IGNORECASE)


def parse_hex(text: str) -> bytes:
    """Bytes from ``"16 ff 07"``, ``"16:ff:07"``, ``"(0x) 16-FF-07"`` or ``"0x16ff07"``."""
    digits = _SEPARATORS.sub("", _PREFIX.sub("", text))
    bad = re.search(r"[^0-9a-fA-F]", digits)
    if bad is not None:
        raise ValueError(f"hex digit expected, found {bad.group()!r}")
    if len(digits) % 2:
        raise ValueError(f"an even number of hex digits expected, found {len(digits)}")
    return bytes.fromhex(digits)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=EXIT_MALFORMED)


def decode(
    uuid: str = typer.Argument(..., help="Characteristic UUID: 2a35, 0x2A35 or the 128-bit form."),
    hex_payload: str = typer.Argument(
        ..., help="The captured value in hex; spaces, colons and dashes are ignored."),
) -> None:
    """Decode a captured GATT characteristic value and print it as JSON."""
    try:
        short = normalize_uuid(uuid)
    except ValueError as error:
        raise _fail(f"{uuid}: {error}") from None
    try:
        data = parse_hex(hex_payload)
    except ValueError as error:
        raise _fail(f"0x{short:04X}: payload is not hex: {error}") from None
    try:
        value = decode_characteristic(short, data)
    except (DecodeError, UnknownCharacteristic) as error:
        raise _fail(str(error)) from None
    typer.echo(json.dumps(value.to_json_dict(), indent=2, allow_nan=False))
