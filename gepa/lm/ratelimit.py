"""A rate limit shared by every model client of a run: requests and tokens per period (moving window).

Built on the ``limits`` library; this module only adds the wait (blocking, or awaited on the async path).
Token costs are estimated before the call (prompt characters / 4 plus ``max_tokens``), since the real count is
known only afterwards; ``settle`` carries the difference into the next calls, so over time the limit counts
real tokens.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from gepa.lm.base import Message, prompt_tokens


def estimate_tokens(messages: Sequence[Message], params: Mapping[str, Any]) -> int:
    return prompt_tokens(m["content"] for m in messages) + int(params.get("max_tokens") or 256)


class RateLimiter:
    """Blocks until a call fits under ``requests`` and ``tokens`` per ``period_seconds`` (None: unlimited)."""

    def __init__(self, *, requests: int | None = None, tokens: int | None = None, period_seconds: int = 60) -> None:
        from limits import RateLimitItemPerSecond, storage, strategies  # ~0.1 s to import: only when a limit is set

        self._limits = {"requests": requests, "tokens": tokens, "period_seconds": period_seconds}
        self.id = uuid.uuid4().hex
        _LIMITERS[self.id] = self

        self._window = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._requests = RateLimitItemPerSecond(requests, period_seconds) if requests else None
        self._tokens = RateLimitItemPerSecond(tokens, period_seconds) if tokens else None
        self._lock = threading.Lock()
        self._balance = 0  # real tokens minus estimated tokens of settled calls, not yet charged

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent to another process, a limiter becomes that process's one copy of it (same limits, its own
        window): a limit per process, however many times it is sent there."""
        return (_shared, (self.id, self._limits))

    def acquire(self, messages: Sequence[Message], params: Mapping[str, Any]) -> float:
        """Wait for room; returns the seconds waited."""
        waited, cost = 0.0, self._cost(messages, params)
        while (delay := self._take(cost)) > 0:
            time.sleep(delay)
            waited += delay
        return waited

    async def acquire_async(self, messages: Sequence[Message], params: Mapping[str, Any]) -> float:
        """``acquire`` for the async path: the wait yields to the other calls in flight."""
        waited, cost = 0.0, self._cost(messages, params)
        while (delay := self._take(cost)) > 0:
            await asyncio.sleep(delay)
            waited += delay
        return waited

    def settle(self, estimated: int, actual: int) -> None:
        """Record that a call estimated at ``estimated`` tokens used ``actual``: the next calls pay the
        difference (an underestimate) or are credited with it (an overestimate)."""
        with self._lock:
            self._balance += actual - estimated

    def _cost(self, messages: Sequence[Message], params: Mapping[str, Any]) -> int:
        """The estimate corrected by what earlier calls' estimates missed (at least one token)."""
        with self._lock:
            cost = estimate_tokens(messages, params) + self._balance
            self._balance = min(0, cost - 1)
            return max(1, cost)

    def _take(self, cost: int) -> float:
        with self._lock:
            return self._try(cost)

    def _try(self, cost: int) -> float:
        checks = [(item, "requests", 1) for item in [self._requests] if item]
        checks += [(item, "tokens", min(cost, item.amount)) for item in [self._tokens] if item]
        for item, key, amount in checks:
            if not self._window.test(item, key, cost=amount):
                reset = self._window.get_window_stats(item, key).reset_time
                return max(0.01, min(1.0, reset - time.time()))
        for item, key, amount in checks:
            self._window.hit(item, key, cost=amount)
        return 0.0


_LIMITERS: weakref.WeakValueDictionary[str, RateLimiter] = weakref.WeakValueDictionary()  # made here
_COPIES: dict[str, RateLimiter] = {}  # sent here: kept for the life of the process, as its window must be
_LIMITERS_LOCK = threading.Lock()


def _shared(limiter_id: str, limits: dict[str, Any]) -> RateLimiter:
    """This process's copy of limiter ``limiter_id`` (the original itself in the process that made it)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(limiter_id) or _COPIES.get(limiter_id)
        if limiter is None:
            limiter = _COPIES[limiter_id] = RateLimiter(**limits)
        return limiter
