"""The async connection pool and the one way handlers talk to the database.

Every handler runs its statements, including its audit row, inside one
``async with database.transaction() as conn`` block: it commits when the block ends
normally, before the response is sent, and rolls back on any error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

Connection = AsyncConnection[DictRow]


@dataclass(frozen=True)
class PoolConfig:
    dsn: str
    min_size: int = 2
    max_size: int = 10
    statement_timeout_ms: int = 15_000
    acquire_timeout_s: float = 5.0


class Database:
    """A psycopg AsyncConnectionPool with dict rows, UTC sessions and a statement timeout."""

    def __init__(self, config: PoolConfig) -> None:
        self.pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            config.dsn,
            min_size=config.min_size,
            max_size=config.max_size,
            timeout=config.acquire_timeout_s,
            open=False,
            connection_class=AsyncConnection[DictRow],
            kwargs={
                "row_factory": dict_row,
                "application_name": "homevitals-api",
                # UTC sessions: timestamps come back aware in UTC; local time is explicit.
                "options": f"-c TimeZone=UTC -c statement_timeout={config.statement_timeout_ms}",
            },
            name="homevitals-api",
        )

    async def open(self) -> None:
        # Do not wait for the database: the API starts and /readyz says when it can serve.
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        async with self.pool.connection() as conn:
            yield conn

    async def ping(self, timeout_s: float = 2.0) -> None:
        async with self.pool.connection(timeout=timeout_s) as conn:
            await conn.execute("SELECT 1")
