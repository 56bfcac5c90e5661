"""Progress moves per rollout, not per batch: every executor reports each rollout as it finishes (while the
rest of its batch still runs), the run shows every paid rollout and the final test scoring to its callbacks,
and none of those notices reaches the run log."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import gepa
from gepa.core.candidate import Candidate
from gepa.core.events import Event
from gepa.core.executors import AsyncRollouts, ThreadRollouts
from gepa.core.types import EvalResult, Example, SystemOutput
from gepa.lm.ledger import UsageLedger
from gepa.run.progress import Progress
from tests import fakes


class Gated:
    """Example "slow" blocks until the progress callback has seen example "fast" (or 10 s pass); a barrier
    that reports only when the whole batch is done would leave it blocked, so the test tells the two apart."""

    supports_async = True

    def __init__(self) -> None:
        self.released = threading.Event()

    def run(self, candidate: Candidate, example: Example) -> SystemOutput:
        if example.id == "slow":
            self.released.wait(timeout=10)
        return SystemOutput(text=example.id)

    async def arun(self, candidate: Candidate, example: Example) -> SystemOutput:
        if example.id == "slow":
            await asyncio.to_thread(self.released.wait, 10)
        return SystemOutput(text=example.id)


def evaluate(example: Example, output: SystemOutput) -> EvalResult:
    return EvalResult(score=1.0, feedback="")


@pytest.mark.parametrize("executor", [ThreadRollouts, AsyncRollouts])
def test_each_rollout_is_reported_while_its_batch_still_runs(executor: type) -> None:
    system, seen = Gated(), []
    candidate = Candidate(components={"system": "x"})
    pairs = [(candidate, Example(id="slow", fields={})), (candidate, Example(id="fast", fields={}))]

    def done(index: int, rollout: Any) -> None:
        assert pairs[index][1].id == rollout.example_id
        seen.append((rollout.example_id, system.released.is_set()))
        if rollout.example_id == "fast":
            system.released.set()

    pool = executor(2)
    try:
        results = pool.map(system, evaluate, pairs, done)
    finally:
        pool.close()
    assert [r.example_id for r in results] == ["slow", "fast"]  # in the order asked
    assert seen == [("fast", False), ("slow", True)]  # "fast" was reported before "slow" could finish


def test_a_run_shows_every_paid_rollout_and_the_final_test_scoring_but_logs_neither(tmp_path: Path) -> None:
    events: list[Event] = []
    result = gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        testset=fakes.make_rows(5, 200),
        task_model="fake/tests.fakes:task_model",
        reflection_model="fake/tests.fakes:reflector",
        evaluator=gepa.evaluators.Exact(expected="label"),
        use_cache=False,
        run_dir=tmp_path / "run",
        callbacks=[events.append],
        config=gepa.OptimizerConfig(max_metric_calls=60, proposals_per_iteration=1),
    )
    kinds = [e.kind for e in events]
    final = kinds.index("final_scoring")
    assert kinds[:final].count("rollout_scored") == result.state.metric_calls
    candidates = events[final].data["candidates"]
    assert len(candidates) >= 2 and events[final].data["examples"] == 5 * len(candidates)
    assert kinds[final:].count("rollout_scored") == 5 * len(candidates)
    logged = {json.loads(line)["kind"] for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()}
    assert "budget" in logged and not logged & {"rollout_scored", "final_scoring"}


def test_the_bar_counts_rollouts_then_grows_to_cover_the_final_scoring() -> None:
    progress = Progress(max_calls=60, usage=UsageLedger(), interactive=True)
    try:
        for _ in range(7):
            progress(Event(kind="rollout_scored", iteration=1, data={"example": "e", "score": 1.0}))
        assert progress._bar.n == 7
        progress(Event(kind="budget", iteration=1, data={"metric_calls": 8, "cost_usd": 0.0}))
        assert progress._bar.n == 8  # the engine's count settles it
        progress(Event(kind="final_scoring", iteration=1, data={"split": "test", "examples": 10, "candidates": []}))
        assert progress._bar.total == 18  # the unspent budget is no longer ahead; the test rollouts are
    finally:
        progress.close()
