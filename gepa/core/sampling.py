"""Scoring each (candidate, example) pair several times (``samples_per_example``), for a sampled task model or a
judge evaluator whose score varies from call to call: one lucky sample must not decide which prompt wins.

The samples of a pair are identical requests, so the model client gives them sample indices 0..k-1 (their own
seeds and cache keys): a rerun replays all k from the cache. They run through the executor alongside every
other pair, so sampling costs calls, not concurrency. The pair's rollout holds the mean score (and mean
objectives); its output and feedback are those of its lowest-scoring sample, which says what went wrong, with a
line naming every sample's score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gepa.core.candidate import Candidate
from gepa.core.executors import Done, RolloutExecutor
from gepa.core.types import Evaluator, Example, Rollout, System


def score_pairs(executor: RolloutExecutor, system: System, evaluator: Evaluator,
                pairs: Sequence[tuple[Candidate, Example]], samples: int,
                done: Done | None = None) -> list[Rollout]:
    """One rollout per pair, in order, each the combination of ``samples`` runs; ``done`` sees each pair (its
    place and rollout) once all its samples are in."""
    if samples == 1:
        return executor.map(system, evaluator, pairs, done)
    finished: dict[int, list[Rollout]] = {}

    def one_sample(index: int, result: Rollout) -> None:
        mine = finished.setdefault(index // samples, [])
        mine.append(result)
        if done is not None and len(mine) == samples:
            done(index // samples, combine(mine))

    results = executor.map(system, evaluator, [pair for pair in pairs for _ in range(samples)], one_sample)
    return [combine(results[i * samples:(i + 1) * samples]) for i in range(len(pairs))]


def combine(samples: Sequence[Rollout]) -> Rollout:
    """The pair's rollout from its samples: the mean score and objectives, the worst sample's text."""
    if len(samples) == 1:
        return samples[0]
    worst = min(samples, key=lambda r: r.score)
    mean = sum(r.score for r in samples) / len(samples)
    names = set().union(*(r.objectives for r in samples))
    objectives = {name: sum(r.objectives.get(name, 0.0) for r in samples) / len(samples) for name in names}
    line = (f"(This example was run {len(samples)} times, scoring "
            f"{', '.join(f'{r.score:.2f}' for r in samples)}; its score is their mean, {mean:.2f}. "
            "The output above is the lowest-scoring one.)")
    feedback = f"{worst.feedback}\n{line}" if worst.feedback else line
    return replace(worst, score=mean, objectives=objectives, feedback=feedback, feedback_chars=None)
