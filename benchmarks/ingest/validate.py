"""``homevitals bench validate``: ingest's validator alone, pydantic path vs the fast path.

CPU time (``time.process_time``) of validating the ingest benchmark's own messages, old and
new interleaved in one process, best of several rounds: no broker, no database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import typer

from benchmarks.ingest.fleet import PLACEHOLDER, Fleet, generate_messages, utc_stamp
from benchmarks.report import header, markdown_table, say
from ingest.fast_validation import accept_readings
from ingest.validation import Rejection, ValidBatch, validate_readings, validate_readings_with_pydantic

Validator = Callable[..., ValidBatch | Rejection]


def _cpu_per_message(validator: Validator, messages: list[tuple[str, bytes]]) -> float:
    now = datetime.now(UTC)
    tolerance = timedelta(minutes=5)
    started = time.process_time()
    for topic, payload in messages:
        validator(topic, payload, now=now, future_tolerance=tolerance, max_payload_bytes=1 << 20)
    return (time.process_time() - started) / len(messages)


def validate(
    readings: int = typer.Option(20_000, help="Readings per mode."),
    modes: str = typer.Option("1,20", help="Readings per message, comma separated."),
    rounds: int = typer.Option(5, help="Rounds of each validator; the best counts."),
) -> None:
    """µs of CPU per message and per reading: the pydantic path, and validate_readings with its fast path."""
    say(header())
    rows = []
    stamp = utc_stamp()
    for per_message in (int(m) for m in modes.split(",")):
        fleet = Fleet(gateways=50)
        messages = [
            (topic, payload.replace(PLACEHOLDER, stamp))
            for topic, payload in generate_messages(
                fleet, range(fleet.gateways), readings // fleet.gateways, per_message, seed=17
            )
        ]
        limit = datetime.now(UTC)
        fast_share = sum(
            accept_readings(payload, topic.split("/")[3], future_limit=limit) is not None
            for topic, payload in messages
        ) / len(messages)
        contenders = {"pydantic": validate_readings_with_pydantic, "fast": validate_readings}
        best = dict.fromkeys(contenders, float("inf"))
        for _ in range(rounds):  # interleaved, so a burst of load hits both
            for name, validator in contenders.items():
                best[name] = min(best[name], _cpu_per_message(validator, messages))
        rows.append((
            per_message, f"{len(messages):,}",
            f"{best['pydantic'] * 1e6:,.1f}", f"{best['fast'] * 1e6:,.1f}",
            f"{best['pydantic'] * 1e6 / per_message:,.1f}", f"{best['fast'] * 1e6 / per_message:,.1f}",
            f"{best['pydantic'] / best['fast']:.1f}x", f"{fast_share:.0%}",
        ))  # fmt: skip
    say(markdown_table(
        ("readings per message", "messages", "pydantic µs/msg", "fast µs/msg", "pydantic µs/reading",
         "fast µs/reading", "speed-up", "on fast path"),
        rows,
    ))  # fmt: skip
