"""The tests' one polling helper: returns what it waited for, or fails saying what and what was seen."""

from __future__ import annotations

import itertools

import pytest

from tests.support.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.unit


def test_returns_the_first_truthy_result():
    calls = itertools.count(1)
    assert wait_until(lambda: next(calls) >= 3 and "third", 5, "the third call", interval=0) == "third"


def test_a_time_out_names_what_was_awaited_and_the_last_result():
    with pytest.raises(AssertionError, match=r"timed out after 0.05 s waiting for 3 rows \(last result: 0\)"):
        wait_until(lambda: 0, 0.05, "3 rows", interval=0.01)


def test_a_callable_description_is_evaluated_only_on_failure():
    described: list[int] = []

    def what() -> str:
        described.append(1)
        return "the state at the time-out"

    wait_until(lambda: True, 1, what)
    assert described == []
    with pytest.raises(AssertionError, match="the state at the time-out"):
        wait_until(lambda: False, 0.02, what, interval=0.01)
    assert described == [1]


async def test_the_async_twin_behaves_the_same():
    calls = itertools.count(1)
    assert await wait_until_async(lambda: next(calls) == 2, 5, "the second call", interval=0) is True
    with pytest.raises(AssertionError, match="waiting for nothing"):
        await wait_until_async(lambda: None, 0.02, "nothing", interval=0.01)
