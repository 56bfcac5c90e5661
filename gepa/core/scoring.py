"""Paying for rollouts: each (candidate, example) pair is scored once per run, in groups that fit the time
left, and kept in the run state, so a pair already scored is never paid again (nor after a resume)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.deadline import Clock
from gepa.core.emitter import Emit
from gepa.core.events import RolloutScoredPayload
from gepa.core.executors import RolloutExecutor
from gepa.core.sampling import score_pairs
from gepa.core.state import RunState
from gepa.core.types import Evaluator, Example, Rollout, System
from gepa.errors import ModelUnreachableError


class Scorer:
    """Scores candidates on examples through the run's executor, counting each new pair as one metric call."""

    def __init__(self, system: System, evaluator: Evaluator, config: OptimizerConfig, clock: Clock, emit: Emit) -> None:
        self.system, self.evaluator, self.config = system, evaluator, config
        self._clock, self._emit = clock, emit

    def score(
        self,
        state: RunState,
        executor: RolloutExecutor,
        candidates: Sequence[Candidate],
        examples: Sequence[Example],
    ) -> list[list[Rollout]]:
        """Each candidate's rollouts on ``examples`` in order; the pairs not yet in ``state`` share the pool."""
        todo = [(c, e) for c in candidates for e in examples if e.id not in state.rollouts.get(c.id, {})]

        def scored(_: int, result: Rollout) -> None:
            self._emit("rollout_scored", state, RolloutScoredPayload(example=result.example_id, score=result.score))

        samples = self.config.samples_per_example
        results = [
            r
            for group in self._clock.groups(todo, self.config.concurrency)
            for r in score_pairs(executor, self.system, self.evaluator, group, samples, scored)
        ]
        if "latency_s" not in self.config.objective_names():  # not repeatable: kept only when asked for
            results = [
                replace(r, objectives={k: v for k, v in r.objectives.items() if k != "latency_s"}) for r in results
            ]
        if results and all(r.error_source == "unreachable" for r in results):
            raise ModelUnreachableError(
                f"{results[0].error} (every call of the batch failed after its retries; "
                "the run stops, and resumes from its saved state)"
            )
        for (candidate, _), result in zip(todo, results, strict=True):
            state.add_rollout(candidate.id, result)
        state.metric_calls += len(todo)
        return [[state.rollouts[c.id][e.id] for e in examples] for c in candidates]
