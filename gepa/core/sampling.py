"""Scoring each (candidate, example) pair several times (``samples_per_example``), for a sampled task model or an
evaluator of the user's own whose score varies from call to call: one lucky sample must not decide which prompt wins.

Sample j of a pair runs on the example marked ``sample=j``, and a prompt system passes that index to the model
client: each sample gets its index's seed and cache entry whatever order the samples finish in, so a rerun
replays all k from the cache and two identical requests get the same k answers. (A pipeline's own model calls
are numbered by the client in the order they arrive.) They run through the executor alongside every other pair,
so sampling costs calls, not concurrency. The pair's rollout holds the mean score and objectives and the most
frequent output (what the answer checks read); its feedback is the lowest-scoring sample's, which says what went
wrong, with that sample's output and every sample's score. It is an error only when every sample failed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from gepa.core.candidate import Candidate
from gepa.core.executors import Done, RolloutExecutor
from gepa.core.types import Evaluator, Example, Rollout, System


def score_pairs(
    executor: RolloutExecutor,
    system: System,
    evaluator: Evaluator,
    pairs: Sequence[tuple[Candidate, Example]],
    samples: int,
    done: Done | None = None,
) -> list[Rollout]:
    """One rollout per pair, in order, each the combination of ``samples`` runs; ``done`` sees each pair (its
    place and rollout) once all its samples are in."""
    if samples == 1:
        return executor.map(system, evaluator, pairs, done)
    finished: dict[int, dict[int, Rollout]] = {}

    def one_sample(index: int, result: Rollout) -> None:
        mine = finished.setdefault(index // samples, {})
        mine[index % samples] = result
        if done is not None and len(mine) == samples:
            done(index // samples, combine([mine[j] for j in range(samples)]))

    runs = [(candidate, replace(example, sample=j)) for candidate, example in pairs for j in range(samples)]
    results = executor.map(system, evaluator, runs, one_sample)
    return [combine(results[i * samples : (i + 1) * samples]) for i in range(len(pairs))]


def combine(samples: Sequence[Rollout]) -> Rollout:
    """The pair's rollout from its samples (in sample order): the mean score and objectives, the most frequent
    output of the samples that did not fail, the worst sample's feedback."""
    if len(samples) == 1:
        return samples[0]
    worst = min(samples, key=lambda r: r.score)  # the first of the lowest: sample order, not finishing order
    answered = [r for r in samples if r.error is None] or list(samples)  # a failed sample's "" is no answer
    common = Counter(r.output for r in answered).most_common(1)[0][0]
    shown = next(r for r in answered if r.output == common)
    mean = sum(r.score for r in samples) / len(samples)
    names = set().union(*(r.objectives for r in samples))
    objectives = {name: sum(r.objectives.get(name, 0.0) for r in samples) / len(samples) for name in names}
    line = (
        f"(This example was run {len(samples)} times, scoring {', '.join(f'{r.score:.2f}' for r in samples)}; "
        f"its score is their mean, {mean:.2f}."
    )
    line += " The feedback is the lowest-scoring run's" + (
        f", whose output was {worst.output[:300]!r})" if worst.output != shown.output else ")"
    )
    feedback = f"{worst.feedback}\n{line}" if worst.feedback else line
    failed = all(r.error is not None for r in samples)
    return replace(
        shown,
        score=mean,
        objectives=objectives,
        feedback=feedback,
        feedback_chars=None,
        expected=next((r.expected for r in (shown, *samples) if r.expected is not None), None),
        error=worst.error if failed else None,
        error_source=worst.error_source if failed else None,
    )
