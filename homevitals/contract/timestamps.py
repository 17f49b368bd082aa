"""The one text form of a UTC instant the project writes (contract times, outbox columns)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(value: datetime) -> str:
    """``2026-11-29T08:58:04.512000Z``: fixed width (microseconds, suffix Z), so text order is time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
