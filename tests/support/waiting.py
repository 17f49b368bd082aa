"""Polling until something holds, with a failure that says what was awaited and what was seen.

Tests wait on real processes (brokers, workers, gateways), so they poll; the timeout only
bounds a failure and is never asserted on (no timed assertions). ``what`` may be a callable,
evaluated only on failure, to report the state at that moment (``lambda: f"rows: {n()}"``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Description = str | Callable[[], str]

DEFAULT_INTERVAL_S = 0.05


def _timed_out(timeout: float, what: Description, last: object) -> AssertionError:
    described = what() if callable(what) else what
    seen = "" if last is None or isinstance(last, bool) else f" (last result: {last!r})"
    return AssertionError(f"timed out after {timeout:g} s waiting for {described}{seen}")


def wait_until(
    predicate: Callable[[], T], timeout: float, what: Description, *, interval: float = DEFAULT_INTERVAL_S
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Raises ``AssertionError("timed out after … s waiting for <what>")`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise _timed_out(timeout, what, result)
        time.sleep(interval)


async def wait_until_async(
    predicate: Callable[[], T],
    timeout: float,  # noqa: ASYNC109 - the signature of wait_until; the deadline is checked between polls
    what: Description,
    *,
    interval: float = DEFAULT_INTERVAL_S,
) -> T:
    """:func:`wait_until` for code on the event loop: sleeps without blocking the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if loop.time() >= deadline:
            raise _timed_out(timeout, what, result)
        await asyncio.sleep(interval)
