"""Typed errors of the ingest service. Each carries the data a caller acts on."""

from __future__ import annotations

from homevitals.errors import HomevitalsError


class IngestError(HomevitalsError):
    """Base class of the ingest service's errors."""


class DatabaseUnavailable(IngestError):
    """The database cannot be reached or went away mid-transaction: retry later, do not ack."""

    def __init__(self, cause: str) -> None:
        self.cause = cause
        super().__init__(f"database unavailable: {cause}")


class DatabaseMisconfigured(IngestError):
    """The database answered but refused for reasons no message caused (grants, schema).

    Treated like an outage (retry, do not ack) rather than dead-lettering good readings.
    """

    def __init__(self, sqlstate: str | None, cause: str) -> None:
        self.sqlstate = sqlstate
        self.cause = cause
        super().__init__(
            f"database refused ({sqlstate}): {cause}. Check that migrations ran and that the "
            "login role is a member of homevitals_ingest."
        )


class TransactionConflict(IngestError):
    """Deadlock or serialization failure against a concurrent worker: retry at once."""

    def __init__(self, sqlstate: str | None, cause: str) -> None:
        self.sqlstate = sqlstate
        self.cause = cause
        super().__init__(f"transaction conflict ({sqlstate}): {cause}")


class BatchRejected(IngestError):
    """The database rejected the data itself (a constraint, a value it cannot store).

    Some message in the batch is poison; the caller splits the batch to find it.
    """

    def __init__(self, sqlstate: str | None, cause: str) -> None:
        self.sqlstate = sqlstate
        self.cause = cause
        super().__init__(f"database rejected the batch ({sqlstate}): {cause}")
