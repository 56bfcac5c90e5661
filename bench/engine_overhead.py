"""Optimizer overhead with an instant fake model (issue: the GEPA engine).

    .venv/bin/python bench/engine_overhead.py

Prints milliseconds per iteration at 100 validation examples, the time of one parent-selection step
(Pareto front + weighted draw) with 1,000 candidates x 10,000 validation examples (goal: < 100 ms), and, with
5,000 validation examples, the metric calls the subset validation policy spends against full validation to
reach the same best.

    .venv/bin/python bench/engine_overhead.py --smoke    # the same three parts at tiny sizes (the test suite runs it)
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.engine import Optimizer
from gepa.core.policies import ParetoSelector
from gepa.core.state import RunState
from gepa.core.types import Example
from gepa.evaluators import Exact
from gepa.lm import FakeModel, ModelClient
from gepa.proposer import ReflectiveProposer
from gepa.system import PromptSystem
from tests import fakes


def per_iteration_ms(n_val: int = 100, iterations: int = 300) -> tuple[float, int]:
    counter = iter(range(10**9))

    def reflect(messages, params):  # type: ignore[no-untyped-def]
        # A new text every time, so every iteration evaluates a child (the expensive path).
        return f"```\nReview: {{{{text}}}} #{next(counter)}\n```"

    def answer(messages, params):  # type: ignore[no-untyped-def]
        # Pseudo-random right/wrong per (prompt, example): about half the children beat their parent.
        return "positive" if hash(messages[-1]["content"]) % 2 else "negative"

    rows = lambda n, off: [Example(id=f"s{off}/{i}", fields=r) for i, r in enumerate(fakes.make_rows(n, off))]  # noqa: E731
    optimizer = Optimizer(
        system=PromptSystem(ModelClient(FakeModel(answer), role="task")),
        evaluator=Exact(expected="label"),
        proposer=ReflectiveProposer(ModelClient(FakeModel(reflect), role="reflection")),
        trainset=rows(200, 0),
        valset=rows(n_val, 1000),
        config=OptimizerConfig(
            max_metric_calls=None,
            max_iterations=iterations,
            seed=0,
            max_idle_iterations=10**9,
            optimize=("user",),
            concurrency=1,
        ),
    )
    seed = Candidate(components={"system": "You classify reviews.", "user": "Review: {{text}}"})
    started = time.perf_counter()
    state = optimizer.run(seed)
    return (time.perf_counter() - started) / state.iteration * 1000, len(state.candidates)


def selection_ms(n_candidates: int = 1000, n_examples: int = 10_000, repeats: int = 7) -> dict[str, float]:
    rng = np.random.default_rng(0)
    results = {}
    for name, scores in (
        ("binary", (rng.random((n_candidates, n_examples)) < 0.5).astype(float)),
        ("graded", rng.integers(0, 5, (n_candidates, n_examples)) / 4.0),
    ):
        state = RunState(
            candidates=[Candidate(components={"p": str(i)}) for i in range(n_candidates)], val_scores=scores.tolist()
        )
        state.score_matrix()  # built once as rows are appended during a run
        selector = ParetoSelector(OptimizerConfig().front_objectives())
        times = []
        for i in range(repeats):
            started = time.perf_counter()
            selector.select(state, random.Random(i))
            times.append(time.perf_counter() - started)
        results[name] = statistics.median(times) * 1000
    return results


def subset_against_full(n_val: int = 5000, iterations: int = 12) -> dict[str, tuple[float, int, int, float]]:
    """The scripted world where a system rule wins training minibatches but loses on validation (see the engine
    tests): per policy, the best's validation score, the metric calls spent when it was found, in all, and the
    engine's ms per iteration."""

    def rows(kinds: str, offset: int) -> list[Example]:
        return [
            Example(id=f"{offset + i}", fields={"text": f"[{k}] review {offset + i} is positive", "label": "positive"})
            for i, k in enumerate(kinds)
        ]

    results = {}
    for policy in ("full", "subset"):
        optimizer = Optimizer(
            system=PromptSystem(ModelClient(FakeModel(fakes.task_model), role="task")),
            evaluator=Exact(expected="label"),
            proposer=ReflectiveProposer(ModelClient(FakeModel(fakes.reflector), role="reflection")),
            trainset=rows("ab" * 50, 0),
            valset=rows("bccc" * (n_val // 4), 10**6),
            config=OptimizerConfig(
                max_metric_calls=None,
                max_iterations=iterations,
                seed=1,
                merge=False,
                skip_perfect=False,
                proposals_per_iteration=1,
                validation=policy,
                validation_subset=50,
            ),
        )  # type: ignore[arg-type]
        seed = Candidate(components={"system": "You classify reviews.", "user": "Review: {{text}}"})
        started = time.perf_counter()
        state = optimizer.run(seed)
        elapsed = (time.perf_counter() - started) / state.iteration * 1000
        best = state.best_index()
        results[policy] = (
            state.mean_scores()[best],
            int(state.found_at[best]["metric_calls"]),
            state.metric_calls,
            elapsed,
        )
    return results


if __name__ == "__main__":
    smoke = sys.argv[1:] == ["--smoke"]
    n_val, n_candidates, n_examples, n_subset = (10, 50, 200, 200) if smoke else (100, 1000, 10_000, 5000)
    ms, pool = per_iteration_ms(n_val, iterations=5 if smoke else 300)
    print(
        f"engine overhead: {ms:.2f} ms per iteration ({n_val} val examples, instant fake model, "
        f"{pool} candidates at the end)"
    )
    for name, value in selection_ms(n_candidates, n_examples, repeats=1 if smoke else 7).items():
        print(
            f"selection step, {n_candidates:,} candidates x {n_examples:,} val examples ({name} scores): "
            f"{value:.1f} ms (goal < 100 ms)"
        )
    iterations = 3 if smoke else 12
    for policy, (score, found, spent, ms) in subset_against_full(n_subset, iterations).items():
        print(
            f"validation {policy:6s} at {n_subset:,} val examples: best val {score:.3f} found after {found:,} metric "
            f"calls ({spent:,} in {iterations} iterations), {ms:.1f} ms per iteration with an instant fake model"
        )
