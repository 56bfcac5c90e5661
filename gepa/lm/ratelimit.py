"""A rate limit shared by every model client of a run: requests and tokens per period (moving window).

Built on the ``limits`` library; this module only adds the blocking wait. Token costs are estimated before
the call (prompt characters / 4 plus ``max_tokens``), since the real count is known only afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from gepa.lm.base import Message


def estimate_tokens(messages: Sequence[Message], params: Mapping[str, Any]) -> int:
    return sum(len(m["content"]) for m in messages) // 4 + int(params.get("max_tokens") or 256)


class RateLimiter:
    """Blocks until a call fits under ``requests`` and ``tokens`` per ``period_seconds`` (None: unlimited)."""

    def __init__(self, *, requests: int | None = None, tokens: int | None = None, period_seconds: int = 60) -> None:
        from limits import RateLimitItemPerSecond, storage, strategies  # ~0.1 s to import: only when a limit is set

        self._window = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._requests = RateLimitItemPerSecond(requests, period_seconds) if requests else None
        self._tokens = RateLimitItemPerSecond(tokens, period_seconds) if tokens else None
        self._lock = threading.Lock()

    def acquire(self, messages: Sequence[Message], params: Mapping[str, Any]) -> float:
        """Wait for room; returns the seconds waited."""
        waited = 0.0
        cost = estimate_tokens(messages, params)
        while True:
            with self._lock:
                delay = self._try(cost)
            if delay <= 0:
                return waited
            time.sleep(delay)
            waited += delay

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
