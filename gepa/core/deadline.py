"""Time limits that hold whatever the code under them does.

A rollout runs in a daemon thread and is given up after ``rollout_timeout`` seconds: Python cannot stop a thread
stuck in a user's evaluator, only leave it behind, and a daemon thread never keeps the process alive after the run.
``max_seconds`` is checked between groups of rollouts inside an iteration, so a slow iteration cannot outlast it
by more than one group.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


class OutOfTime(Exception):
    """``max_seconds`` passed inside an iteration: the loop ends the run at the state the iteration had reached."""


def in_daemon(function: Callable[[], T]) -> Future[T]:
    """Run ``function`` in a new daemon thread; its result (or exception) arrives in the future."""
    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(function())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=work, name="gepa-rollout-timed", daemon=True).start()
    return future


class Clock:
    """The run's wall-clock limit; unarmed (no limit) until ``arm`` is called."""

    def __init__(self) -> None:
        self.end: float | None = None

    def arm(self, started: float, seconds: float | None) -> None:
        self.end = None if seconds is None else started + seconds

    def groups(self, items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
        """``items`` in groups of ``size`` while time remains (all at once without a limit); ``OutOfTime`` before
        a group when it has run out."""
        if self.end is None:
            yield items
            return
        for start in range(0, len(items), max(1, size)):
            if time.monotonic() >= self.end:
                raise OutOfTime
            yield items[start : start + size]
