"""``gepa.optimize``: the whole loop from Python, on any model, evaluator or custom system.

import gepa
result = gepa.optimize({"system": "Classify.", "user": "{{text}}"}, train, val,
                       task_model="openai/gpt-4.1-mini", reflection_model="openai/gpt-4.1",
                       evaluator=gepa.evaluators.Exact(expected="label"),
                       config=gepa.OptimizerConfig(max_metric_calls=200))
print(result.best.components)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gepa.core.candidate import Candidate, placeholders
from gepa.core.config import OptimizerConfig
from gepa.core.engine import Optimizer
from gepa.core.evaluation import evaluator_name
from gepa.core.events import Callback
from gepa.core.pareto import frontier
from gepa.core.policies import Policies
from gepa.core.state import RunState
from gepa.core.types import Evaluator, Example, Proposer, System
from gepa.errors import UserError
from gepa.evaluators import compared_fields
from gepa.lm.base import REFLECTION_PARAMS, TASK_PARAMS
from gepa.lm.cache import ResponseCache
from gepa.lm.ledger import Usage
from gepa.registry import PromptRegistry, PromptVersion
from gepa.run.assembly import ModelLike, RunModels, reflective_proposer, rollout_executor, task_system
from gepa.run.summary import RunSummary
from gepa.taskfile.data import Splits

if TYPE_CHECKING:  # the run machinery is imported when a run directory is asked for, not at `import gepa`
    from gepa.run.runner import Prepared


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """What a run found: the best candidate (the best that passed every guard set), every candidate with lineage
    and scores, the front, guard-set scores (candidate id -> set -> mean), the candidates that fell on a guard set
    and those that would have been the best but whose guard check the budget could not pay, those never made the
    best because they answer one label to everything (id -> what they answer, see ``gepa.core.answers``), those
    that ranked above the best but gained over the seed by no more than noise explains (id -> the paired
    difference, see ``best_gain_level``), and usage."""

    best: Candidate
    best_score: float
    guard_scores: dict[str, dict[str, float]]
    guard_failed: list[str]
    guard_unpaid: list[str]
    constant_answers: dict[str, dict[str, Any]]
    within_noise: dict[str, dict[str, Any]] = field(default_factory=dict)  # new in this release: optional
    candidates: list[Candidate]
    val_scores: list[list[float]]
    frontier: list[Candidate]
    metric_calls: int
    usage: Usage
    state: RunState
    run_dir: Path | None = None  # where the run was written (``optimize(run_dir=...)``), else None
    summary: RunSummary | None = None  # the run's summary.json, when it has a run directory

    def export(self, name: str, *, alias: str | None = None, prompts_dir: str | Path | None = None) -> PromptVersion:
        """Register the best prompt as the next version of ``name`` in the prompt registry (``prompts/`` or
        ``$GEPA_PROMPTS_DIR``), as ``gepa export RUN --name NAME`` does; refused for a candidate that answers one
        label to everything. Needs a run written with ``run_dir``."""
        from gepa.run.export import export_run
        from gepa.run.rundir import RunDir

        if self.run_dir is None:
            raise UserError("export needs a run directory: call gepa.optimize(..., run_dir='runs/NAME')")
        registry = PromptRegistry(Path(prompts_dir)) if prompts_dir is not None else PromptRegistry()
        return export_run(RunDir.open(self.run_dir), name, registry=registry, alias=alias).version


def run_task(
    task: str | Path,
    *,
    resume: str | Path | None = None,
    runs_dir: str | Path = "runs",
    cache_dir: str | Path | None = None,
) -> RunSummary:
    """What ``gepa optimize TASK [--resume RUN]`` does, from Python: returns the run's summary."""
    from gepa.run import runner
    from gepa.run.rundir import RunDir

    resume_dir = RunDir.open(resume) if resume is not None else None
    prepared = runner.prepare(task, cache=ResponseCache(cache_dir))
    return runner.run(prepared, runs_root=Path(runs_dir), resume=resume_dir).summary


def _examples(split: str, rows: Sequence[Example | Mapping[str, Any]]) -> list[Example]:
    return [
        row if isinstance(row, Example) else Example(id=f"{split}/{i}", fields=dict(row)) for i, row in enumerate(rows)
    ]


def _input_fields(evaluator: Any, examples: Sequence[Example]) -> list[str]:
    """The fields a prompt without placeholders is shown: every field but the ``id`` and the ones the evaluator
    compares against, as task files derive them."""
    return sorted({name for e in examples for name in e.fields} - compared_fields(evaluator) - {"id"})


def _check_fields(seed: Candidate, evaluator: Any, splits: Mapping[str, Sequence[Example]]) -> None:
    """Every placeholder of the seed and every field the evaluator compares against must be a field of every
    example, before any model call (as task files): else every rollout would fail on the same missing key."""
    compared = sorted(compared_fields(evaluator))
    for split, examples in splits.items():
        for example in examples:
            fields = ", ".join(sorted(example.fields))
            for component, text in seed.components.items():
                missing = [p for p in placeholders(text) if p not in example.fields]
                if missing:
                    raise UserError(
                        f"placeholder {{{{{missing[0]}}}}} in prompt component {component!r} has no "
                        f"matching field in {split} example {example.id} (fields: {fields})"
                    )
            if absent := [name for name in compared if name not in example.fields]:
                raise UserError(
                    f"evaluator {evaluator_name(evaluator)} expects the field {absent[0]!r}, which "
                    f"{split} example {example.id} lacks (fields: {fields})"
                )


def optimize(
    seed_candidate: str | Mapping[str, str],
    trainset: Sequence[Example | Mapping[str, Any]],
    valset: Sequence[Example | Mapping[str, Any]],
    *,
    task_model: ModelLike | System,
    reflection_model: ModelLike | Proposer,
    evaluator: Evaluator | Callable[..., Any],
    config: OptimizerConfig | None = None,
    callbacks: Sequence[Callback] = (),
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    task_params: Mapping[str, Any] | None = None,
    reflection_params: Mapping[str, Any] | None = None,
    guardsets: Mapping[str, Sequence[Example | Mapping[str, Any]]] | None = None,
    testset: Sequence[Example | Mapping[str, Any]] | None = None,
    run_dir: str | Path | None = None,
    name: str = "python",
    policies: Policies | None = None,
) -> RunResult:
    """Run GEPA on ``seed_candidate`` and return what it found.

    Args:
        seed_candidate: the prompt to improve: a mapping of component names to texts with ``{{field}}``
            placeholders (``{"system": ..., "user": "{{text}}"}``), or one string, the ``system`` component (the
            task model is then shown the examples' input fields as ``name: value`` lines).
        trainset: examples the reflector learns from, as mappings of fields or ``Example`` objects.
        valset: examples that score every candidate; the Pareto front and the best are chosen on them.
        task_model: the model under the prompt (a litellm model string such as ``"openai/gpt-4.1-mini"``,
            ``"local/smollm2"``, a ``LanguageModel`` or a ``ModelClient``), or a whole pipeline: a ``System``
            that turns a candidate and an example into an output.
        reflection_model: the model that rewrites components (as ``task_model``), or a ``Proposer``.
        evaluator: scores one output: a built-in (``gepa.evaluators.Exact(expected="label")``...) or any
            function ``(example, output)``; the example reads like a dict of its fields. It may return a number,
            ``(score, feedback)``, a dict (``score``, ``feedback``, ``scores``, ``expected``), an object with
            ``score`` and ``feedback`` attributes (DSPy's ``Prediction``) or an ``EvalResult``.
        config: budgets and search settings (``OptimizerConfig``; default: 300 metric calls, seed 0).
        callbacks: functions that receive every ``Event`` of the run (a failing one never stops it).
        cache_dir: the response cache (default ``$GEPA_CACHE_DIR`` or ``~/.cache/gepa``).
        use_cache: False calls the models even for requests seen before.
        task_params, reflection_params: sampling parameters of each role (default ``gepa.lm.base.TASK_PARAMS``
            and ``REFLECTION_PARAMS``, as in task files).
        guardsets: named example sets the best prompt must not do worse on than the seed (by more than
            ``config.guard_tolerance``), e.g. ``{"ood": [...]}``.
        testset: held-out examples the seed and the best are scored on when the run ends (never searched on);
            their scores, answers and the paired gain land in the summary and report. Needs ``run_dir``.
        run_dir: write the run as ``gepa optimize`` does (config, events, state after every iteration, best
            prompt, report, summary, lock) into this folder; if it already holds a run, resume it (only the
            budget may differ). Without it nothing is written.
        name: the run's task name in its config, summary and report.
        policies: the parent selector, component chooser, acceptance rule and validation policy, when not the
            ones ``config`` names: ``gepa.Policies.named(config, selector=MySelector())`` (any object with the
            method its Protocol in ``gepa.core.policies`` names). A resumed run uses what is passed again.

    Raises ``UserError`` before any model call when a placeholder, or the field a built-in evaluator compares
    against, names no field of the data.
    """
    if testset is not None and run_dir is None:
        raise UserError("testset is scored when a run directory is written: pass run_dir as well")
    config = config or OptimizerConfig()
    seed = Candidate(components={"system": seed_candidate} if isinstance(seed_candidate, str) else seed_candidate)
    train, val = _examples("train", trainset), _examples("val", valset)
    test = _examples("test", testset or [])
    guards = {key: _examples(f"guard:{key}", rows) for key, rows in (guardsets or {}).items()}
    _check_fields(
        seed,
        evaluator,
        {"train": train, "val": val, "test": test, **{f"guard set {n!r}": g for n, g in guards.items()}},
    )
    input_fields = _input_fields(evaluator, [*train, *val])
    models = RunModels(cache=ResponseCache(cache_dir) if use_cache else None, seed=config.seed)
    system = task_system(task_model, models, task_params or TASK_PARAMS, input_fields=input_fields)
    proposer = reflective_proposer(
        reflection_model, models, reflection_params or REFLECTION_PARAMS, input_fields=input_fields
    )
    if run_dir is not None:
        from gepa.run.runner import Prepared

        splits = Splits(
            train=train,
            val=val,
            test=test,
            guard=guards,
            sources={split: "python" for split in ("train", "val", "test")},
        )
        prepared = Prepared(
            name=name,
            splits=splits,
            seed=seed,
            config=config,
            ledger=models.ledger,
            evaluator=evaluator,
            system=system,
            proposer=proposer,
            input_fields=input_fields,
            task_model=_model_name(task_model),
            reflection_model=_model_name(reflection_model),
            policies=policies,
        )
        return _written_run(prepared, Path(run_dir), callbacks)
    optimizer = Optimizer(
        system=system,
        evaluator=evaluator,
        proposer=proposer,
        trainset=train,
        valset=val,
        guardsets=guards,
        config=config,
        callbacks=callbacks,
        spent_usd=models.ledger.spent_usd,
        executor=rollout_executor(config),
        policies=policies,
    )
    return _result(optimizer.run(seed), models.ledger.total())


def _written_run(prepared: Prepared, root: Path, callbacks: Sequence[Callback]) -> RunResult:
    """The run of ``prepared`` in ``root``, resumed when ``root`` already holds one."""
    from gepa.run import runner
    from gepa.run.rundir import RunDir

    resume = RunDir.open(root) if (root / "config.json").is_file() else None
    outcome = runner.run(prepared, runs_root=root.parent, resume=resume, callbacks=callbacks, directory=root)
    return _result(outcome.state, prepared.ledger.total(), run_dir=root, summary=outcome.summary)


def _model_name(model: Any) -> str:
    """How a run records a model: its name, or the class of a pipeline or proposer."""
    if isinstance(model, str):
        return model
    return str(getattr(model, "model", None) or getattr(model, "name", None) or f"python:{type(model).__name__}")


def _result(
    state: RunState, usage: Usage, *, run_dir: Path | None = None, summary: RunSummary | None = None
) -> RunResult:
    best = state.best_index()
    return RunResult(
        best=state.candidates[best],
        best_score=state.mean_scores()[best],
        guard_scores=dict(state.guard_scores),
        guard_failed=list(state.guard_failed),
        guard_unpaid=list(state.guard_unpaid),
        constant_answers=dict(state.constant_answers),
        within_noise=dict(state.within_noise),
        candidates=list(state.candidates),
        val_scores=[list(r) for r in state.val_scores],
        frontier=[state.candidates[i] for i in frontier(state.score_matrix())],
        metric_calls=state.metric_calls,
        usage=usage,
        state=state,
        run_dir=run_dir,
        summary=summary,
    )
