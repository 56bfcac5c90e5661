"""The Ray executor (local Ray, 2 CPUs): the same run as threads, calls made in workers accounted in the run's
ledger, and a fatal error in a worker stopping the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.engine import Optimizer
from gepa.core.types import Example, SystemOutput
from gepa.errors import SystemicModelError, UserError
from gepa.evaluators import Exact
from gepa.lm import FakeModel, ModelClient, UsageLedger
from gepa.proposer import ReflectiveProposer
from gepa.system import PromptSystem
from tests import fakes

ray = pytest.importorskip("ray")
SEED = Candidate(components={"system": "You classify reviews.", "user": "Review: {{text}}"})


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"GEPA_ALLOW_MODEL_CALLS": "0"}},
    )
    yield
    ray.shutdown()


def optimizer(given: Any, ledger: UsageLedger, **config: Any) -> Optimizer:
    return Optimizer(
        system=PromptSystem(ModelClient(FakeModel(fakes.task_model), role="task", ledger=ledger)),
        evaluator=Exact(expected="label"),
        proposer=ReflectiveProposer(ModelClient(FakeModel(fakes.reflector), role="reflection", ledger=ledger)),
        trainset=[Example(id=f"t{i}", fields=r) for i, r in enumerate(fakes.make_rows(8))],
        valset=[Example(id=f"v{i}", fields=r) for i, r in enumerate(fakes.make_rows(10, 100))],
        config=OptimizerConfig(max_metric_calls=60, seed=0, proposals_per_iteration=1, concurrency=4, **config),
        executor=given,
    )


def test_ray_and_threads_give_the_same_run_and_the_workers_calls_are_accounted() -> None:
    from gepa.run.ray_executor import RayRollouts

    threads_ledger, ray_ledger = UsageLedger(), UsageLedger()
    threads = optimizer(None, threads_ledger, executor="threads").run(SEED)
    on_ray = optimizer(RayRollouts(4), ray_ledger, executor="ray").run(SEED)
    assert [c.id for c in on_ray.candidates] == [c.id for c in threads.candidates]
    assert on_ray.val_scores == threads.val_scores and max(on_ray.mean_scores()) > 0.7
    assert ray_ledger.total("task").calls == on_ray.metric_calls == threads_ledger.total("task").calls
    assert ray_ledger.total("task").input_tokens == threads_ledger.total("task").input_tokens > 0


class BadKeySystem:
    def run(self, candidate: Candidate, example: Example) -> SystemOutput:
        raise SystemicModelError("the key was rejected", model="scripted")


def test_a_fatal_error_in_a_worker_stops_the_run() -> None:
    from gepa.run.ray_executor import RayRollouts

    run = Optimizer(
        system=BadKeySystem(),
        evaluator=Exact(expected="label"),
        proposer=ReflectiveProposer(ModelClient(FakeModel(fakes.reflector), role="reflection")),
        trainset=[Example(id="t", fields=fakes.make_rows(1)[0])],
        valset=[Example(id=f"v{i}", fields=r) for i, r in enumerate(fakes.make_rows(4))],
        config=OptimizerConfig(max_metric_calls=20, executor="ray"),
        executor=RayRollouts(2),
    )
    with pytest.raises(SystemicModelError, match="the key was rejected"):
        run.run(SEED)


def test_executor_ray_without_an_executor_is_a_named_error() -> None:
    with pytest.raises(UserError, match="RayRollouts"):
        optimizer(None, UsageLedger(), executor="ray").run(SEED)


def test_a_task_file_runs_on_ray_and_writes_the_same_state_as_threads(tmp_path: Path) -> None:
    from gepa.run import runner

    states, scores = [], []
    for executor in ("threads", "ray"):
        task = fakes.write_task(
            tmp_path / executor, budget=40, optimizer=f"{{proposals_per_iteration: 1, executor: {executor}}}"
        )
        outcome = runner.run(runner.prepare(task, runner.Overrides(), cache=None), runs_root=tmp_path / "runs")
        states.append(json.loads((outcome.run_dir.root / "state.json").read_text()))
        scores.append(outcome.state.val_scores)
        assert outcome.summary.usage.model_calls > outcome.state.metric_calls  # task calls from workers counted
    assert states[0]["candidates"] == states[1]["candidates"]
    assert scores[0] == scores[1]
