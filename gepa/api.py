"""``gepa.optimize``: the whole loop from Python, on any model, evaluator or custom system.

    import gepa
    result = gepa.optimize({"system": "Classify.", "user": "{{text}}"}, train, val,
                           task_model="openai/gpt-4.1-mini", reflection_model="openai/gpt-4.1",
                           evaluator=gepa.evaluators.Exact(expected="label"),
                           config=gepa.OptimizerConfig(max_metric_calls=200))
    print(result.best.components)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepa.assembly import ModelLike, RunModels, reflective_proposer, rollout_executor, task_system
from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.engine import Optimizer
from gepa.core.events import Callback
from gepa.core.pareto import frontier
from gepa.core.state import RunState
from gepa.core.types import Evaluator, Example, Proposer, System
from gepa.lm.base import REFLECTION_PARAMS, TASK_PARAMS
from gepa.lm.cache import ResponseCache
from gepa.lm.ledger import Usage
from gepa.summary import RunSummary


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What a run found: the best candidate (the best that passed every guard set), every candidate with lineage
    and scores, the front, guard-set scores (candidate id -> set -> mean), the candidates that fell on a guard set
    and those that would have been the best but whose guard check the budget could not pay, those never made the
    best because they answer one label to everything (id -> what they answer, see ``gepa.core.answers``), and
    usage."""

    best: Candidate
    best_score: float
    guard_scores: dict[str, dict[str, float]]
    guard_failed: list[str]
    guard_unpaid: list[str]
    constant_answers: dict[str, dict[str, Any]]
    candidates: list[Candidate]
    val_scores: list[list[float]]
    frontier: list[Candidate]
    metric_calls: int
    usage: Usage
    state: RunState


def run_task(task: str | Path, *, resume: str | Path | None = None, runs_dir: str | Path = "runs",
             cache_dir: str | Path | None = None) -> RunSummary:
    """What ``gepa optimize TASK [--resume RUN]`` does, from Python: returns the run's summary."""
    from gepa import runner
    from gepa.runs import RunDir

    resume_dir = RunDir.open(resume) if resume is not None else None
    prepared = runner.prepare(task, cache=ResponseCache(cache_dir))
    return runner.run(prepared, runs_root=Path(runs_dir), resume=resume_dir).summary


def _examples(split: str, rows: Sequence[Example | Mapping[str, Any]]) -> list[Example]:
    return [row if isinstance(row, Example) else Example(id=f"{split}/{i}", fields=dict(row))
            for i, row in enumerate(rows)]


def optimize(seed_candidate: str | Mapping[str, str], trainset: Sequence[Example | Mapping[str, Any]],
             valset: Sequence[Example | Mapping[str, Any]], *, task_model: ModelLike | System,
             reflection_model: ModelLike | Proposer, evaluator: Evaluator,
             config: OptimizerConfig | None = None, callbacks: Sequence[Callback] = (),
             cache_dir: str | Path | None = None, use_cache: bool = True,
             task_params: Mapping[str, Any] | None = None,
             reflection_params: Mapping[str, Any] | None = None,
             guardsets: Mapping[str, Sequence[Example | Mapping[str, Any]]] | None = None) -> RunResult:
    """Run GEPA and return the result. ``task_model`` may be a ``System`` (any pipeline), and
    ``reflection_model`` a ``Proposer``. A string seed is one ``system`` component. Sampling parameters
    default to each role's (``gepa.lm.base.TASK_PARAMS`` / ``REFLECTION_PARAMS``), as in task files.
    ``guardsets`` ({"ood": [...]}) are examples the best prompt must not do worse on than the seed (by more than
    ``config.guard_tolerance``)."""
    config = config or OptimizerConfig()
    models = RunModels(cache=ResponseCache(cache_dir) if use_cache else None, seed=config.seed)
    system = task_system(task_model, models, task_params or TASK_PARAMS)
    proposer = reflective_proposer(reflection_model, models, reflection_params or REFLECTION_PARAMS)
    seed = Candidate(components={"system": seed_candidate} if isinstance(seed_candidate, str) else seed_candidate)
    guards = {name: _examples(f"guard:{name}", rows) for name, rows in (guardsets or {}).items()}
    optimizer = Optimizer(system=system, evaluator=evaluator, proposer=proposer,
                          trainset=_examples("train", trainset), valset=_examples("val", valset), guardsets=guards,
                          config=config, callbacks=callbacks, spent_usd=models.ledger.spent_usd,
                          executor=rollout_executor(config))
    state = optimizer.run(seed)
    best = state.best_index()
    return RunResult(best=state.candidates[best], best_score=state.mean_scores()[best],
                     guard_scores=dict(state.guard_scores), guard_failed=list(state.guard_failed),
                     guard_unpaid=list(state.guard_unpaid), constant_answers=dict(state.constant_answers),
                     candidates=list(state.candidates), val_scores=[list(r) for r in state.val_scores],
                     frontier=[state.candidates[i] for i in frontier(state.score_matrix())],
                     metric_calls=state.metric_calls, usage=models.ledger.total(), state=state)
