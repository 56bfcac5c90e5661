"""Rollouts as Ray tasks (``optimizer.executor: ray``, extra ``ray``), for pipelines that need a CPU or a GPU of
their own per rollout and a cluster to spread over.

The system and the evaluator are sent to the cluster once per run; each rollout is a task, at most
``concurrency`` in flight, returned in the order asked, so the same seed and the same cached answers give the
same run as the thread executor. Model calls made inside a worker are accounted in the run's ledger (each task
brings back what the shipped ledgers recorded); a rate limit applies per worker process there. A sampled task
model (temperature > 0) numbers its samples per task there, not per run: keep the task model greedy (the default)
when runs must replay exactly.

``ray_address`` (or ``RAY_ADDRESS``) joins an existing cluster; with neither, a local one is started once per
process (Ray shuts it down when the process exits), so scoring after the run reuses it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from gepa.core.candidate import Candidate
from gepa.core.evaluation import rollout
from gepa.core.executors import Done
from gepa.core.types import Evaluator, Example, Rollout, System
from gepa.errors import UserError, install_hint
from gepa.lm.ledger import ShippedUsage, absorb, drain_shipped


def import_ray() -> Any:
    """The ``ray`` module, or the error that names how to install it (a dry run asks for it too)."""
    try:
        import ray
    except ImportError as exc:
        raise UserError(f"optimizer.executor: ray needs Ray; {install_hint('ray')}") from exc
    return ray


def rollout_in_worker(
    system: System, evaluator: Evaluator, pair: tuple[Candidate, Example], timeout: float | None
) -> tuple[Rollout, ShippedUsage]:
    """One rollout in a Ray worker, with the usage its model calls recorded there."""
    return rollout(system, evaluator, *pair, timeout), drain_shipped()


class RayRollouts:
    """Each rollout a Ray task needing ``cpus`` CPUs and ``gpus`` GPUs."""

    def __init__(
        self,
        concurrency: int,
        *,
        address: str | None = None,
        cpus: float = 1.0,
        gpus: float = 0.0,
        timeout: float | None = None,
    ) -> None:
        ray = import_ray()
        self._ray, self._concurrency, self._timeout = ray, concurrency, timeout
        if not ray.is_initialized():
            ray.init(
                address=address or os.environ.get("RAY_ADDRESS") or None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        self._task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=0)(rollout_in_worker)
        self._sent: dict[tuple[int, int], tuple[Any, Any]] = {}

    def map(
        self, system: System, evaluator: Evaluator, pairs: Sequence[tuple[Candidate, Example]], done: Done | None = None
    ) -> list[Rollout]:
        ray = self._ray
        system_ref, evaluator_ref = self._send(system, evaluator)
        results: list[Rollout | None] = [None] * len(pairs)
        pending: dict[Any, int] = {}
        queue = iter(enumerate(pairs))
        try:
            while True:
                while len(pending) < self._concurrency and (item := next(queue, None)) is not None:
                    index, pair = item
                    pending[self._task.remote(system_ref, evaluator_ref, pair, self._timeout)] = index
                if not pending:
                    break
                finished, _ = ray.wait(list(pending), num_returns=1)
                for ref in finished:
                    result, usage = ray.get(ref)
                    absorb(usage)
                    index = pending.pop(ref)
                    results[index] = result
                    if done is not None:
                        done(index, result)
        except BaseException:
            for ref in pending:  # a fatal error on one example stops the others
                ray.cancel(ref)
            raise
        return [r for r in results if r is not None]

    def _send(self, system: System, evaluator: Evaluator) -> tuple[Any, Any]:
        """The cluster's copies of ``system`` and ``evaluator``, sent once."""
        key = (id(system), id(evaluator))
        if key not in self._sent:
            self._sent[key] = (self._ray.put(system), self._ray.put(evaluator))
        return self._sent[key]

    def close(self) -> None:
        """Forget the shipped copies; the cluster stays for the rest of the process."""
        self._sent.clear()
