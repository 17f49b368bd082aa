"""Keep the summary tables exact in each batch's transaction (migration 0007, docs/database.md).

``latest_readings`` and ``daily_summaries`` let the care overview read a few rows per
citizen instead of a week of raw readings. Every writer of ``readings`` keeps them exact:
a row trigger does it for the API, operators and test seeds, one reading at a time. That
costs a PL/pgSQL call per row, so ingest adds each batch's new readings in one set-based
statement instead (:func:`record`, after the ledger has said which readings are new, so a
duplicate never counts twice) and switches the trigger off on its connection.

Exactly once either way: the statement runs only where the setting that turns the trigger
off is in force. :class:`~ingest.writer.BatchWriter` sets it when it is given its connection
(:func:`take_over`). Where it is not in force (lost to RESET ALL, or a rolled-back
transaction took back a later :func:`record`'s), the trigger counted that batch, and
:func:`record` sets it for the batches that follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import psycopg

from ingest.write_strategy import StoredRow  # the RETURNING row of the readings insert

# The setting the trigger's WHEN clause reads (migration 0007).
SETTING: Final = "homevitals.summaries"
BATCHED: Final = "batched"

_TAKE_OVER = "SELECT set_config(%s, %s, false)"

# Guarded by the setting, so a connection whose trigger still ran (say, after RESET ALL)
# never counts a reading twice.
_ADD = """
SELECT summaries_add(%s::bigint[], %s::text[], %s::timestamptz[], %s::uuid[], %s::real[],
                     %s::real[], %s::real[], %s::double precision[], %s::boolean[], %s::boolean[])
WHERE current_setting('homevitals.summaries', true) = 'batched'
"""


def take_over(conn: psycopg.Connection[Any]) -> None:
    """Make this connection's batches maintain the summaries (the row trigger stands down)."""
    conn.execute(_TAKE_OVER, (SETTING, BATCHED))


def columns(rows: Sequence[StoredRow]) -> tuple[list[Any], ...]:
    """The attributed rows as the parallel arrays ``summaries_add`` takes."""
    attributed = [row for row in rows if row.citizen_id is not None]
    return (
        [r.citizen_id for r in attributed],
        [r.kind for r in attributed],
        [r.measured_at for r in attributed],
        [r.reading_id for r in attributed],
        [r.systolic for r in attributed],
        [r.diastolic for r in attributed],
        [r.pulse_rate for r in attributed],
        [r.value for r in attributed],
        [r.implausible for r in attributed],
        [r.clock_in_future for r in attributed],
    )


def record(conn: psycopg.Connection[Any], stored: Sequence[Sequence[Any]]) -> None:
    """Add the readings a batch stored (new ids only) to the summaries, in its transaction."""
    arrays = columns([StoredRow(*row) for row in stored])
    if not arrays[0]:
        return  # nothing attributed: no summary changes
    if not conn.execute(_ADD, arrays).fetchall():
        take_over(conn)  # the trigger counted this batch; the next ones are counted here
