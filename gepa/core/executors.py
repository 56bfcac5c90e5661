"""Where rollouts run: a thread pool (any ``System``), or an event loop keeping many in flight on one thread
(a system with ``arun``, such as a prompt on an API model: wall time is spent waiting on the network).

Both return rollouts in the order asked, so a run does not depend on which call finished first, and call
``done`` once per rollout as it finishes (one call at a time), so progress moves while a batch runs.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from types import TracebackType
from typing import Protocol

from gepa.core.candidate import Candidate
from gepa.core.config import ExecutorName
from gepa.core.evaluation import arollout, rollout
from gepa.core.types import AsyncSystem, Evaluator, Example, Rollout, System
from gepa.errors import UserError

Pairs = Sequence[tuple[Candidate, Example]]
Done = Callable[[int, Rollout], None]  # the pair's place in the batch, and its rollout


class RolloutExecutor(Protocol):
    """Runs and scores (candidate, example) pairs, at most ``concurrency`` at once; ``done`` sees each rollout
    as it finishes, one call at a time."""

    def map(self, system: System, evaluator: Evaluator, pairs: Pairs, done: Done | None = None) -> list[Rollout]: ...

    def close(self) -> None: ...


class ThreadRollouts:
    """One thread per rollout in flight."""

    def __init__(self, concurrency: int, timeout: float | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gepa-rollout")
        self._timeout = timeout

    def map(self, system: System, evaluator: Evaluator, pairs: Pairs, done: Done | None = None) -> list[Rollout]:
        futures = [
            self._pool.submit(rollout, system, evaluator, candidate, example, self._timeout)
            for candidate, example in pairs
        ]
        places = {future: index for index, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                result = future.result()  # a fatal error raises here
                if done is not None:
                    done(places[future], result)
        except BaseException:
            for future in futures:  # a fatal error on one example stops the others
                future.cancel()
            raise
        return [future.result() for future in futures]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class AsyncRollouts:
    """An event loop on its own thread; each rollout a task, at most ``concurrency`` in flight. The loop lives
    as long as the run, so async HTTP clients (bound to a loop) keep their connections. Sync work (a backend
    without an async call, the evaluator) goes to a pool as wide as ``concurrency``."""

    def __init__(self, concurrency: int, timeout: float | None = None) -> None:
        self._concurrency, self._timeout = concurrency, timeout
        self._loop = asyncio.new_event_loop()
        self._workers = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="gepa-async-worker")
        self._loop.set_default_executor(self._workers)
        self._thread = threading.Thread(target=self._loop.run_forever, name="gepa-event-loop", daemon=True)
        self._thread.start()

    def map(self, system: System, evaluator: Evaluator, pairs: Pairs, done: Done | None = None) -> list[Rollout]:
        if not isinstance(system, AsyncSystem):
            raise TypeError(f"executor 'async' needs a system with arun(); {type(system).__name__} has none")
        finished: queue.SimpleQueue[tuple[int, Rollout]] = queue.SimpleQueue()
        batch = asyncio.run_coroutine_threadsafe(self._all(system, evaluator, pairs, finished), self._loop)
        try:
            while True:  # ``done`` runs here, on the caller's thread: a slow callback never holds up the loop
                try:
                    index, result = finished.get(timeout=0.05)
                except queue.Empty:
                    if batch.done() and finished.empty():
                        break
                    continue
                if done is not None:
                    done(index, result)
        except BaseException:  # a failing callback or Ctrl-C: the rest of the batch would be paid for nothing
            batch.cancel()
            raise
        return batch.result()

    async def _all(
        self, system: AsyncSystem, evaluator: Evaluator, pairs: Pairs, finished: queue.SimpleQueue[tuple[int, Rollout]]
    ) -> list[Rollout]:
        gate = asyncio.Semaphore(self._concurrency)

        async def one(index: int, candidate: Candidate, example: Example) -> Rollout:
            async with gate:
                result = await arollout(system, evaluator, candidate, example, self._timeout)
            finished.put((index, result))
            return result

        tasks = [asyncio.ensure_future(one(i, candidate, example)) for i, (candidate, example) in enumerate(pairs)]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:  # a fatal error on one example stops the others
                task.cancel()
            raise

    def close(self) -> None:
        """Cancel what libraries left running on the loop (litellm's logging worker), then stop it."""

        async def drain() -> None:
            leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)
            await self._loop.shutdown_asyncgens()

        try:
            asyncio.run_coroutine_threadsafe(drain(), self._loop).result(timeout=30)
        finally:  # a drain that fails must not leave the loop, its thread or the pool behind
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
            self._workers.shutdown(wait=True, cancel_futures=True)


class Rollouts:
    """The executor a run's settings ask for, closed when the run ends: ``auto`` is async for a system that
    supports it (an API model) and threads otherwise; ``given`` is one built outside the core (Ray). ``timeout``
    bounds each rollout (``rollout_timeout``)."""

    def __init__(
        self,
        name: ExecutorName,
        concurrency: int,
        system: System,
        given: RolloutExecutor | None = None,
        timeout: float | None = None,
    ) -> None:
        use_async = name == "async" or (name == "auto" and bool(getattr(system, "supports_async", False)))
        self.name = "given" if given is not None else "async" if use_async else "threads"
        if given is None and name == "ray":
            raise UserError(
                "executor 'ray' is built by gepa.optimize and task files; an Optimizer made by hand "
                "takes executor=gepa.run.ray_executor.RayRollouts(...)"
            )
        self._executor: RolloutExecutor = (
            given
            if given is not None
            else AsyncRollouts(concurrency, timeout)
            if use_async
            else ThreadRollouts(concurrency, timeout)
        )

    def __enter__(self) -> RolloutExecutor:
        return self._executor

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._executor.close()
