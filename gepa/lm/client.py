"""``ModelClient``: one backend wrapped with the response cache, retries with backoff, a shared rate limit,
and accounting.

Every call of a run goes through a client: the task model, the reflector and the judge each get one,
sharing a ``UsageLedger`` (so the cost budget covers them all) and a ``ResponseCache``.

A sampled call (temperature > 0) gets its own ``seed`` derived from the run seed and its sample index, so
repeated requests give different samples (a fixed seed would repeat the same answer) while a rerun with
the same run seed sends the same seeds and replays from the cache.

``acomplete`` is the async path: the same cache, retries, rate limit and accounting, with the backend's own
async call when it has one (litellm, the openai SDK) and a worker thread otherwise (local and fake models).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from gepa.errors import TransientModelError
from gepa.lm.base import Completion, LanguageModel, Message
from gepa.lm.cache import ResponseCache, cache_key
from gepa.lm.ledger import UsageLedger
from gepa.lm.ratelimit import RateLimiter, estimate_tokens

RETRY_AFTER_LIMIT = 60.0  # the longest provider hint honoured, as the openai SDK does
FAIL_FAST_SECONDS = 30.0


class ModelClient:
    """Cached, retried, accounted calls to one backend in one role (``task``, ``reflection``, ``judge``).

    A call whose transient error outlived its retries makes the calls that start within ``FAIL_FAST_SECONDS``
    fail at once with the same error, so an unreachable server costs one call's retries, not every call's.
    """

    def __init__(
        self,
        backend: LanguageModel,
        *,
        role: str,
        ledger: UsageLedger | None = None,
        cache: ResponseCache | None = None,
        params: Mapping[str, Any] | None = None,
        max_attempts: int = 6,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        limiter: RateLimiter | None = None,
        seed: int = 0,
    ) -> None:
        self.backend, self.role, self.seed = backend, role, seed
        self.ledger = ledger if ledger is not None else UsageLedger()
        self.cache, self.params = cache, dict(params or {})
        self.max_attempts, self.backoff_initial, self.backoff_max = max_attempts, backoff_initial, backoff_max
        self.limiter = limiter
        self._seen: Counter[str] = Counter()
        self._seen_lock = threading.Lock()
        self._failed: tuple[float, TransientModelError] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (for rollouts in other processes): the lock is made anew, the fail-fast memory is not sent."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_seen_lock", "_failed")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _seen_lock=threading.Lock(), _failed=None)

    @property
    def model(self) -> str:
        return self.backend.name

    @property
    def native_async(self) -> bool:
        """Whether ``acomplete`` keeps calls in flight without a thread each (the backend is async itself)."""
        return callable(getattr(self.backend, "acomplete", None))

    def complete(
        self, messages: Sequence[Message], params: Mapping[str, Any] | None = None, *, sample: int | None = None
    ) -> Completion:
        """Answer ``messages``. ``sample`` fixes a sampled call's index (and so its seed); without it, the
        n-th identical request of this client gets index n. Callers that sample concurrently pass it, so
        which request gets which seed never depends on thread timing."""
        key, merged = self._key(messages, {**self.params, **(params or {})}, sample)
        hit = self._cached(key)
        if hit is not None:
            return hit
        return self._keep(key, self._call(messages, merged))

    async def acomplete(
        self, messages: Sequence[Message], params: Mapping[str, Any] | None = None, *, sample: int | None = None
    ) -> Completion:
        """``complete`` on the async path."""
        key, merged = self._key(messages, {**self.params, **(params or {})}, sample)
        hit = self._cached(key)
        if hit is not None:
            return hit
        return self._keep(key, await self._acall(messages, merged))

    def _cached(self, key: str) -> Completion | None:
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None:
            self.ledger.record(self.model, self.role, cache_hits=1, tokens_saved=hit.input_tokens + hit.output_tokens)
        return hit

    def _keep(self, key: str, completion: Completion) -> Completion:
        """Cache and account a fresh answer (errors never reach here, so they are never cached)."""
        if self.cache is not None:
            self.cache.put(key, completion)
        self.ledger.record(
            self.model,
            self.role,
            calls=1,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_usd=completion.cost_usd or 0.0,
        )
        return completion

    def _key(
        self, messages: Sequence[Message], params: dict[str, Any], sample: int | None
    ) -> tuple[str, dict[str, Any]]:
        """The cache key and the parameters to send: a sampled call gets its index's seed."""
        base = cache_key(self.model, messages, params, 0)
        if float(params.get("temperature", 1.0)) <= 0:
            return base, params
        if sample is None:
            with self._seen_lock:
                sample = self._seen[base]
                self._seen[base] += 1
        if "seed" not in params:
            params = {**params, "seed": sample_seed(self.seed, sample)}
        return cache_key(self.model, messages, params, sample), params

    def _retry_policy(self) -> dict[str, Any]:
        """Transient errors retried with jittered exponential backoff, or after the provider's hint."""
        exponential = wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            hinted = getattr(error, "retry_after", None)
            return min(float(hinted), RETRY_AFTER_LIMIT) if hinted is not None else exponential(state)

        def count_error(state: RetryCallState) -> None:
            self.ledger.record(self.model, self.role, errors=1)

        return {
            "retry": retry_if_exception_type(TransientModelError),
            "wait": wait,
            "stop": stop_after_attempt(self.max_attempts),
            "before_sleep": count_error,
            "reraise": True,
        }

    @contextmanager
    def _failing_fast(self) -> Iterator[None]:
        """A call that starts within ``FAIL_FAST_SECONDS`` of one whose transient error outlived its retries fails
        at once with that error; a call that succeeds clears it."""
        failed = self._failed
        if failed is not None and time.monotonic() - failed[0] < FAIL_FAST_SECONDS:
            raise failed[1]
        try:
            yield
        except TransientModelError as exc:
            self._failed = (time.monotonic(), exc)
            raise
        self._failed = None

    def _call(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        with self._failing_fast():
            completion: Completion = Retrying(**self._retry_policy())(self._attempt, messages, params)
        return completion

    async def _acall(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        with self._failing_fast():
            completion: Completion = await AsyncRetrying(**self._retry_policy())(self._aattempt, messages, params)
        return completion

    def _attempt(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        if self.limiter is not None:
            self.limiter.acquire(messages, params)
        started = time.monotonic()
        completion = self.backend.complete(messages, params)
        return self._settled(messages, params, completion, time.monotonic() - started)

    async def _aattempt(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        if self.limiter is not None:
            await self.limiter.acquire_async(messages, params)
        started = time.monotonic()
        if self.native_async:
            completion: Completion = await self.backend.acomplete(messages, params)  # type: ignore[attr-defined]
        else:
            completion = await asyncio.to_thread(self.backend.complete, messages, params)
        return self._settled(messages, params, completion, time.monotonic() - started)

    def _settled(
        self, messages: Sequence[Message], params: Mapping[str, Any], completion: Completion, latency_s: float
    ) -> Completion:
        """The answer with the latency of the call that produced it (not the rate limit's or the retries' waits);
        the rate limiter learns the call's real token count."""
        if self.limiter is not None:
            self.limiter.settle(estimate_tokens(messages, params), completion.input_tokens + completion.output_tokens)
        return replace(completion, latency_s=latency_s)


def sample_seed(run_seed: int, sample: int) -> int:
    """A 31-bit seed for sample ``sample`` of a run seeded ``run_seed`` (well mixed, so nearby samples differ)."""
    digest = hashlib.sha256(f"{run_seed}:{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
