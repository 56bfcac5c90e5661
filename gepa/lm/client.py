"""``ModelClient``: one backend wrapped with the response cache, retries with backoff, a shared rate limit,
and accounting.

Every call of a run goes through a client: the task model, the reflector and the judge each get one,
sharing a ``UsageLedger`` (so the cost budget covers them all) and a ``ResponseCache``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from gepa.errors import TransientModelError
from gepa.lm.base import Completion, LanguageModel, Message
from gepa.lm.cache import ResponseCache, cache_key
from gepa.lm.ledger import UsageLedger
from gepa.lm.ratelimit import RateLimiter


class ModelClient:
    """Cached, retried, accounted calls to one backend in one role (``task``, ``reflection``, ``judge``)."""

    def __init__(self, backend: LanguageModel, *, role: str, ledger: UsageLedger | None = None,
                 cache: ResponseCache | None = None, params: Mapping[str, Any] | None = None,
                 max_attempts: int = 6, backoff_initial: float = 0.5, backoff_max: float = 30.0,
                 limiter: RateLimiter | None = None) -> None:
        self.backend, self.role = backend, role
        self.ledger = ledger if ledger is not None else UsageLedger()
        self.cache, self.params = cache, dict(params or {})
        self.max_attempts, self.backoff_initial, self.backoff_max = max_attempts, backoff_initial, backoff_max
        self.limiter = limiter
        self._seen: Counter[str] = Counter()
        self._seen_lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.backend.name

    def complete(self, messages: Sequence[Message], params: Mapping[str, Any] | None = None) -> Completion:
        merged = {**self.params, **(params or {})}
        key = self._key(messages, merged)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.ledger.record(self.model, self.role, cache_hits=1,
                                   tokens_saved=hit.input_tokens + hit.output_tokens)
                return hit
        completion = self._call(messages, merged)
        if self.cache is not None:
            self.cache.put(key, completion)
        self.ledger.record(self.model, self.role, calls=1, input_tokens=completion.input_tokens,
                           output_tokens=completion.output_tokens, cost_usd=completion.cost_usd or 0.0)
        return completion

    def _key(self, messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        """Sampling calls get the n-th key of their request, so a rerun replays the same sequence."""
        base = cache_key(self.model, messages, params, 0)
        if float(params.get("temperature", 1.0)) <= 0:
            return base
        with self._seen_lock:
            index = self._seen[base]
            self._seen[base] += 1
        return base if index == 0 else cache_key(self.model, messages, params, index)

    def _call(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        exponential = wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after", None)
            return min(float(hinted), self.backoff_max) if hinted is not None else exponential(state)

        def count_error(state: RetryCallState) -> None:
            self.ledger.record(self.model, self.role, errors=1)

        retrying = Retrying(retry=retry_if_exception_type(TransientModelError), wait=wait,
                            stop=stop_after_attempt(self.max_attempts), before_sleep=count_error, reraise=True)
        return retrying(self._attempt, messages, params)

    def _attempt(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        if self.limiter is not None:
            self.limiter.acquire(messages, params)
        return self.backend.complete(messages, params)
