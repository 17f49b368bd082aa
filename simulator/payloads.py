"""Byte-level faults the virtual devices can inject into otherwise correct payloads.

Correct payloads come from the gateway's encoders (:mod:`gatt`); this module only
breaks them on purpose.
"""

from __future__ import annotations


def truncate(payload: bytes) -> bytes:
    """A malformed payload: the flags byte promises fields that the bytes no longer hold.

    Keeps the flags and cuts the rest roughly in half, the way a firmware bug or a lost
    final packet does; a decoder must reject it (and keep the raw bytes), never guess.
    """
    return payload[: max(2, len(payload) // 2)]
