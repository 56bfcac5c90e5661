"""The one place that turns a task file into live objects and runs it: data, seed, models, evaluator,
optimizer, run directory. Validation happens before anything is written, so a user mistake leaves no trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from gepa.core.answers import answer_counts, baseline, constant_answer
from gepa.core.candidate import Candidate
from gepa.core.config import ExecutorName, OptimizerConfig, added_settings, legacy_values, resumable_settings
from gepa.core.engine import Optimizer
from gepa.core.evaluation import evaluator_name
from gepa.core.events import Callback, Event, EventKind, FinalScoringPayload, Payload, RolloutScoredPayload
from gepa.core.executors import Done, Rollouts
from gepa.core.intervals import PairedDifference, paired_difference
from gepa.core.policies import Policies
from gepa.core.sampling import score_pairs
from gepa.core.state import RunState
from gepa.core.types import Evaluator, Example, Proposer, Rollout, System
from gepa.core.user_code import load_object
from gepa.errors import EvaluatorError, RunStateError, TaskSpecError, UserError
from gepa.evaluators import build_evaluator, compared_fields
from gepa.evaluators.spec import as_recorded_today
from gepa.lm.base import Endpoint
from gepa.lm.cache import ResponseCache
from gepa.lm.client import ModelClient
from gepa.lm.ledger import UsageLedger
from gepa.lm.open import open_backend
from gepa.lm.ratelimit import RateLimiter
from gepa.proposer.templates import PACKAGED_TEMPLATES, POLICIES, packaged_template
from gepa.registry import PromptRegistry
from gepa.run.assembly import RunModels, pick_reflection_model, reflective_proposer, rollout_executor
from gepa.run.diagnosis import RunFacts, explain, first_rejections, guard_failures, rejected_minibatches
from gepa.run.export import export_run
from gepa.run.report import write_report
from gepa.run.rundir import RunDir
from gepa.run.summary import BestScores, CandidateScores, FrontMember, RunSummary, UsageTotals
from gepa.run.tracking import MlflowTracker
from gepa.system import PipelineSystem, PromptSystem
from gepa.taskfile.data import Splits, load_splits
from gepa.taskfile.seed import check_fields, resolve_seed
from gepa.taskfile.spec import MlflowTrackingSpec, Task, TaskSpec, load_task, read_utf8


@dataclass(frozen=True, kw_only=True)
class Overrides:
    """Command-line overrides of task-file values; ``None`` keeps the file's value."""

    model: str | None = None
    reflection_model: str | None = None
    max_metric_calls: int | None = None
    seed: int | None = None
    concurrency: int | None = None
    executor: ExecutorName | None = None
    reflection_template: str | None = None
    reflection_params: dict[str, Any] | None = None  # merged over the task file's
    guard: bool = True  # False: leave the task's guard sets out
    track_mlflow: bool = False  # track in MLflow even if the task file does not ask (its settings, else defaults)


@dataclass(kw_only=True)
class Prepared:
    """A run ready to start: everything validated and constructed, nothing written yet. A task file prepares
    one (``prepare``); ``gepa.optimize`` builds one from Python objects (``task`` None) to get the same run
    directory, resume and report."""

    name: str
    splits: Splits
    seed: Candidate
    config: OptimizerConfig
    ledger: UsageLedger
    evaluator: Evaluator
    system: System
    proposer: Proposer
    input_fields: list[str]
    task_model: str
    reflection_model: str
    task: Task | None = None  # None: assembled in Python
    task_client: ModelClient | None = None
    endpoints: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # model -> (base, key env)
    overrides: Overrides = field(default_factory=Overrides)
    warnings: list[str] = field(default_factory=list)  # what is allowed but likely a mistake, for the user to see
    policies: Policies | None = None  # None: the ones the config names

    def task_file(self) -> Task:
        """The task file this run came from (the CLI's estimates and dry runs need one)."""
        if self.task is None:
            raise UserError(f"run {self.name!r} was assembled in Python: it has no task file")
        return self.task

    def resolved_config(self) -> dict[str, Any]:
        """What config.json records: the task as run (no secrets: only the names of key variables)."""
        source = (
            {"task_path": str(self.task.path.resolve()), "task": self.task.spec.model_dump(mode="json", by_alias=True)}
            if self.task is not None
            else {
                "task_path": None,
                "task": {
                    "name": self.name,
                    "evaluator": evaluator_name(self.evaluator),
                    "input_fields": self.input_fields,
                },
            }
        )
        return {
            **source,
            "overrides": {k: v for k, v in self.overrides.__dict__.items() if v is not None},
            "models": {"task": self.task_model, "reflection": self.reflection_model},
            "seed_candidate": self.seed.to_dict(),
            "optimizer": asdict(self.config),
            "data": self.splits.sources,
            "data_fingerprint": self.splits.fingerprint(),
        }


def prepare(
    task_path: str | Path,
    overrides: Overrides = Overrides(),
    *,
    cache: ResponseCache | None = None,
    registry: PromptRegistry | None = None,
) -> Prepared:
    task = load_task(task_path)
    spec = task.spec
    splits = load_splits(task)
    if not overrides.guard:
        splits = replace(splits, guard={})
    seed = resolve_seed(task, registry or PromptRegistry())
    limits = spec.rate_limit
    limiter = RateLimiter(requests=limits.requests_per_minute, tokens=limits.tokens_per_minute) if limits else None
    run_seed = spec.seed if overrides.seed is None else overrides.seed
    models = RunModels(cache=cache, limiter=limiter, seed=run_seed, prices=task_prices(spec))
    task_model = overrides.model or spec.model
    reflection_model = overrides.reflection_model or pick_reflection_model(
        task_model, spec.reflection_model, task_model_overridden=overrides.model is not None
    )
    task_client = models.client(
        task_model, "task", spec.model_params, api_base=spec.api_base, api_key_env=spec.api_key_env
    )
    try:
        evaluator = build_evaluator(
            spec.evaluator_specs(),
            base_dir=task.base_dir,
            judge_client=lambda model: models.client(
                model or task_model, "judge", {"temperature": 0}, api_base=spec.api_base, api_key_env=spec.api_key_env
            ),
        )
    except EvaluatorError as exc:
        raise TaskSpecError(str(exc), path=str(task.path), field="evaluator") from None
    answers = compared_fields(evaluator)
    input_fields = sorted(splits.fields() - answers - {"id"})
    system = task_system(task, task_client, input_fields)
    warnings = check_fields(task, seed, splits, answers, provided=set(getattr(system, "provides", ())))
    template, policy = reflection_template(task, overrides.reflection_template or spec.reflection_template)
    config = OptimizerConfig(
        **spec.budget.model_dump(),
        **spec.optimizer.model_dump(),
        seed=run_seed,
        optimize=tuple(spec.optimize) if spec.optimize else None,
        objectives=spec.objective_list(),
        select=spec.selection(),
    )
    config = replace(
        config,
        max_metric_calls=overrides.max_metric_calls or config.max_metric_calls,
        concurrency=overrides.concurrency or config.concurrency,
        executor=overrides.executor or config.executor,
    )
    if config.samples_per_example > 1 and spec.model_params.get("temperature") == 0:
        warnings.append(
            f"optimizer.samples_per_example is {config.samples_per_example} but the task model answers "
            "greedily (model_params.temperature 0): its samples repeat one answer, so each pair costs "
            f"{config.samples_per_example} calls for nothing unless your evaluator's score varies"
        )
    guard_size = sum(len(examples) for examples in splits.guard.values())
    if problem := config.seed_budget_problem(len(splits.val), guard_size):
        raise TaskSpecError(
            f"{problem} (budget.max_metric_calls, or --budget)", path=str(task.path), field="budget.max_metric_calls"
        )
    unknown = [n for n in (spec.optimize or []) if n not in seed.components]
    if unknown:
        raise TaskSpecError(
            f"optimize names {unknown!r}, but the prompt's components are {list(seed.components)!r}",
            path=str(task.path),
            field="optimize",
        )
    reflects_itself = reflection_model == task_model and spec.reflection_api_base is None
    reflection_base = spec.api_base if reflects_itself else spec.reflection_api_base
    reflection_key = spec.api_key_env if reflects_itself else spec.reflection_api_key_env
    proposer = reflective_proposer(
        reflection_model,
        models,
        {**spec.reflection_params, **(overrides.reflection_params or {})},
        template=template,
        policy=policy,
        input_fields=input_fields,
        api_base=reflection_base,
        api_key_env=reflection_key,
    )
    return Prepared(
        name=spec.name,
        task=task,
        splits=splits,
        seed=seed,
        config=config,
        ledger=models.ledger,
        task_client=task_client,
        evaluator=evaluator,
        system=system,
        proposer=proposer,
        input_fields=input_fields,
        task_model=task_client.model,
        reflection_model=reflection_model,
        endpoints={task_model: (spec.api_base, spec.api_key_env), reflection_model: (reflection_base, reflection_key)},
        overrides=overrides,
        warnings=warnings,
    )


def task_system(task: Task, client: ModelClient, input_fields: Sequence[str]) -> System:
    """One task-model call per example, or the pipeline the task file names (``system: {python: ...}``), built
    with the run's task-model client so its calls share the cache, ledger and limits."""
    if task.spec.system is None:
        return PromptSystem(client, input_fields)
    reference = task.spec.system.python
    try:
        factory = load_object(reference, task.base_dir, kind="system", error=UserError, noun="class or function")
    except UserError as exc:
        raise TaskSpecError(str(exc), path=str(task.path), field="system.python") from None
    try:
        return PipelineSystem(factory(client))
    except Exception as exc:  # noqa: BLE001 - the user's constructor: any failure is theirs to fix
        raise TaskSpecError(
            f"system: {reference} could not be built: {type(exc).__name__}: {exc}",
            path=str(task.path),
            field="system.python",
        ) from None


def check_candidate(prepared: Prepared, candidate: Candidate, source: str) -> list[str]:
    """Check a candidate from elsewhere (a file, the registry, a run) against the task as its seed was checked;
    errors name ``source``. Returns its warnings."""
    return check_fields(
        prepared.task_file(),
        candidate,
        prepared.splits,
        compared_fields(prepared.evaluator),
        provided=set(getattr(prepared.system, "provides", ())),
        source=source,
    )


def probe_models(prepared: Prepared) -> list[str]:
    """One tiny uncached call to each model of the task; raises the first model's error (``--check-models``)."""
    lines = []
    for model, (api_base, api_key_env) in prepared.endpoints.items():
        backend = open_backend(model, Endpoint(api_base=api_base, api_key_env=api_key_env))
        client = ModelClient(backend, role="probe", max_attempts=2, backoff_initial=0.2, backoff_max=1.0)
        reply = client.complete(
            [{"role": "user", "content": "Reply with the word OK."}], {"temperature": 0, "max_tokens": 4}
        )
        lines.append(f"{model}" + (f" at {api_base}" if api_base else "") + f": answered {reply.text.strip()!r}")
    return lines


def reflection_template(task: Task, name: str | None) -> tuple[str | None, str]:
    """(template text, policy): a packaged policy's own prompts (None; ``default`` leaves the choice to the
    reflector, see ``assembly.default_policy``), the packaged ``small`` template or a file relative to the task
    (whole-text rewrites; the policy is then unused)."""
    if not name or name == "default" or name in POLICIES:
        return None, name or "default"
    if name in PACKAGED_TEMPLATES:
        return packaged_template(name), "default"
    path = task.resolve(name)
    if not path.is_file():
        raise TaskSpecError(
            f"reflection_template: no file {str(path)!r} (or use a packaged one: {', '.join(PACKAGED_TEMPLATES)})",
            path=str(task.path),
            field="reflection_template",
        )
    return read_utf8(path), "default"


def score(
    prepared: Prepared, candidate: Candidate, examples: Sequence[Example], done: Done | None = None
) -> tuple[float, list[Rollout]]:
    """Mean score and rollouts of ``candidate`` on ``examples`` (used for test scores; not budgeted); ``done``
    sees each rollout as it finishes."""
    if not examples:
        return float("nan"), []
    with Rollouts(
        prepared.config.executor,
        prepared.config.concurrency,
        prepared.system,
        rollout_executor(prepared.config),
        prepared.config.rollout_timeout,
    ) as executor:
        results = score_pairs(
            executor,
            prepared.system,
            prepared.evaluator,
            [(candidate, e) for e in examples],
            prepared.config.samples_per_example,
            done,
        )
    return float(np.mean([r.score for r in results])), results


def test_scores(prepared: Prepared, candidate: Candidate) -> list[float]:
    """``candidate``'s score on each test example (promotion compares two prompts pair by pair)."""
    if not prepared.splits.test:
        raise UserError("the task has no test split to compare versions on")
    return [r.score for r in score(prepared, candidate, prepared.splits.test)[1]]


def task_prices(spec: TaskSpec) -> dict[str, dict[str, float]]:
    """The task file's ``prices:`` as plain mappings."""
    return {name: p.model_dump() for name, p in spec.prices.items()}


def guard_scores(prepared: Prepared, candidate: Candidate) -> dict[str, float]:
    """Mean score of ``candidate`` on each guard set of the task (not budgeted: used when exporting)."""
    return {name: score(prepared, candidate, examples)[0] for name, examples in prepared.splits.guard.items()}


def check_start(prepared: Prepared, resume: RunDir | None = None) -> Prepared:
    """Refuse what ``run`` would refuse before its first model call, calling and writing nothing, so a dry run
    passes only when the real run would start: a resumed run whose settings changed or whose state is unreadable,
    and a Ray executor without Ray. (``prepare`` already refused a budget that cannot score the seed, through
    ``OptimizerConfig.seed_budget_problem``, the check the engine repeats.) Returns ``prepared`` as the run would
    go on with it (``as_recorded``), for the plan a dry run prints."""
    if resume is not None:
        prepared = as_recorded(prepared, resume.config())
        _check_resumable(resume, prepared)
    _check_executor(prepared.config)
    return prepared


def _check_executor(config: OptimizerConfig) -> None:
    """Ray, when the settings ask for it, so its absence is found before a run directory is made."""
    if config.executor == "ray":
        from gepa.run.ray_executor import import_ray

        import_ray()


@dataclass(kw_only=True)
class Outcome:
    run_dir: RunDir
    state: RunState
    summary: RunSummary


def run(
    prepared: Prepared,
    *,
    runs_root: Path,
    resume: RunDir | None = None,
    callbacks: Sequence[Callback] = (),
    should_stop: Callable[[], bool] = lambda: False,
    registry: PromptRegistry | None = None,
    directory: Path | None = None,
) -> Outcome:
    """Optimise, persisting every iteration; resume from ``resume`` when given; export if the task asks. A new
    run gets a fresh directory under ``runs_root``, or ``directory`` itself when given."""
    _check_executor(prepared.config)
    if resume is not None:
        run_dir = resume
    else:
        run_dir = RunDir.create(runs_root, prepared.name) if directory is None else RunDir.at(directory)
    with run_dir.lock():
        carried = run_dir.usage() if resume is not None else []
        prepared.ledger.restore(carried)
        with run_dir.usage_journal(carried) as journal:
            prepared.ledger.journal = journal
            try:
                return _run_locked(prepared, run_dir, resume is not None, callbacks, should_stop, registry)
            finally:
                prepared.ledger.journal = None


def _run_locked(
    prepared: Prepared,
    run_dir: RunDir,
    resuming: bool,
    callbacks: Sequence[Callback],
    should_stop: Callable[[], bool],
    registry: PromptRegistry | None,
) -> Outcome:
    if resuming:
        prepared = as_recorded(prepared, run_dir.config())
        state = _resumable_state(run_dir, prepared)
    else:
        state = None
        run_dir.write_config(prepared.resolved_config())
    run_dir.write_inputs(prepared.splits.val, prepared.input_fields)  # a resumed older run gains them too
    stop_file = run_dir.root / "STOP"
    stop_file.unlink(missing_ok=True)  # a resumed run must not stop on the request that ended its last session

    def log(event: Event) -> None:
        run_dir.append_event(event.to_dict())

    tracker = _tracker(prepared, run_dir)
    if tracker is not None:
        callbacks = [*callbacks, tracker]

    optimizer = Optimizer(
        system=prepared.system,
        evaluator=prepared.evaluator,
        proposer=prepared.proposer,
        trainset=prepared.splits.train,
        valset=prepared.splits.val,
        guardsets=prepared.splits.guard,
        config=prepared.config,
        policies=prepared.policies,
        callbacks=callbacks,
        record=log,
        spent_usd=prepared.ledger.spent_usd,
        should_stop=lambda: should_stop() or stop_file.exists(),
        checkpoint=lambda s: run_dir.save_state(s, prepared.ledger.to_dict()),
        executor=rollout_executor(prepared.config),
    )
    state = optimizer.run(prepared.seed, state)
    summary = finish(prepared, run_dir, state, callbacks)
    export = prepared.task.spec.export if prepared.task is not None else None
    if export is not None and state.finished:
        result = export_run(
            run_dir,
            export.name,
            registry=registry or PromptRegistry(),
            alias=export.alias,
            promote_if_better=export.promote_if_better,
            any_gain=export.promote_on_any_gain,
            scorer=lambda candidate: test_scores(prepared, candidate),
            guard_scorer=lambda candidate: guard_scores(prepared, candidate),
        )
        summary = replace(summary, export=result.record())
        run_dir.write_summary(summary)
    if tracker is not None:
        tracker.finish(summary)
    return Outcome(run_dir=run_dir, state=state, summary=summary)


def _tracker(prepared: Prepared, run_dir: RunDir) -> MlflowTracker | None:
    """The MLflow tracker the task file (or ``--track mlflow``) asks for, given the run's parameters; None
    without either. ``--track mlflow`` alone logs to $MLFLOW_TRACKING_URI, else MLflow's default
    (``sqlite:///mlflow.db`` in the current folder), experiment ``gepa``."""
    tracking = prepared.task.spec.tracking if prepared.task is not None else None
    mlflow = tracking.mlflow if tracking is not None else None
    if mlflow is None and prepared.overrides.track_mlflow:
        mlflow = MlflowTrackingSpec()
    if mlflow is None:
        return None
    config = prepared.resolved_config()
    params = {
        "task": prepared.name,
        "task_model": prepared.task_model,
        "reflection_model": prepared.reflection_model,
        **{f"optimizer.{k}": v for k, v in config["optimizer"].items() if v is not None},
    }
    return MlflowTracker(run_dir, uri=mlflow.uri, experiment=mlflow.experiment, params=params)


RESUMABLE_CHANGES = resumable_settings()


def _measured(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a run's config that decide its scores."""
    task = {k: v for k, v in config.get("task", {}).items() if k != "budget"}
    if "evaluator" in task:
        task["evaluator"] = as_recorded_today(task["evaluator"])
    task["optimizer"] = {k: v for k, v in (task.get("optimizer") or {}).items() if k not in RESUMABLE_CHANGES}
    optimizer = {k: v for k, v in config.get("optimizer", {}).items() if k not in RESUMABLE_CHANGES}
    return {
        "task file": task,
        "seed prompt": config.get("seed_candidate"),
        "search settings": optimizer,
        "models": config.get("models"),
        "data": config.get("data_fingerprint"),
    }


ADDED_SETTINGS = added_settings() | {"name"}  # and the task file's name
DEFAULTS = {f.name: f.default for f in fields(OptimizerConfig)}


def _same_settings(before: Any, now: Any) -> bool:
    """Whether two recorded settings agree; a setting added since a run was recorded (``ADDED_SETTINGS``)
    agrees when it holds its default, so runs made by an older gepa still resume. Any other new key differs."""
    if isinstance(before, dict) and isinstance(now, dict):
        return all(
            _same_settings(before[k], now[k])
            if k in before
            else k in ADDED_SETTINGS and (now[k] in (None, [], {}, ()) or now[k] == DEFAULTS.get(k))
            for k in now
        ) and set(before) <= set(now)
    return bool(before == now)


def as_recorded(prepared: Prepared, recorded: dict[str, Any]) -> Prepared:
    """``prepared`` with every setting its recorded run predates at the value that run had (``legacy_values``),
    where the user left it at its default: a run started before the noise rule existed goes on choosing its best
    as it did. A value the user chose is compared like any other change (and refused)."""
    held = recorded.get("optimizer", {})
    absent = {k: v for k, v in legacy_values().items() if k not in held and getattr(prepared.config, k) == DEFAULTS[k]}
    return replace(prepared, config=replace(prepared.config, **absent)) if absent else prepared


def _without_legacy(current: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    """``current`` as config.json keeps it: a setting the recorded run predates and holds at its legacy value
    stays out, so every later resume finds it absent and holds it there again."""
    held = recorded.get("optimizer", {})
    for key, value in legacy_values().items():
        if key not in held and current["optimizer"].get(key, value) == value:
            current["optimizer"].pop(key, None)
    return current


def _check_resumable(run_dir: RunDir, prepared: Prepared) -> tuple[RunState | None, dict[str, Any], dict[str, Any]]:
    """The saved state, if the run may continue as asked (raises if not), with the recorded and the current
    config (as it reads back from config.json); reads, never writes."""
    recorded = run_dir.config()
    current = _without_legacy(json.loads(json.dumps(prepared.resolved_config())), recorded)
    before, now = _measured(recorded), _measured(current)
    for part, value in now.items():
        if not _same_settings(before[part], value):
            raise RunStateError(
                f"{run_dir.root}: the {part} changed since this run started (only the budget, the "
                "concurrency and the executor may change on resume); start a new run instead"
            )
    return (run_dir.load_state() if run_dir.has_state() else None), recorded, current


def _resumable_state(run_dir: RunDir, prepared: Prepared) -> RunState | None:
    """The saved state, if the run may continue as asked; a larger budget reopens a finished run."""
    state, recorded, current = _check_resumable(run_dir, prepared)
    if recorded.get("optimizer") != current["optimizer"]:
        run_dir.write_config(current)  # the budget it now runs under
        if state is not None and state.finished:
            state.finished, state.stop_reason = False, ""  # the engine checks the new budget before going on
    return state


def finish(prepared: Prepared, run_dir: RunDir, state: RunState, callbacks: Sequence[Callback] = ()) -> RunSummary:
    """Score seed and best (and the rest of the front) on the test split, write the best prompt, the report and
    the summary; ``callbacks`` see that scoring as ``final_scoring`` and ``rollout_scored`` events."""
    best_index = state.best_index()
    best = state.candidates[best_index]
    means = state.mean_scores()
    test = prepared.splits.test
    front_indices = np.flatnonzero(state.front_weights(prepared.config.front_objectives())).tolist()
    on_test = sorted({0, best_index, *front_indices})
    notify = _notifier(callbacks, state)
    notify(
        "final_scoring",
        FinalScoringPayload(
            split="test",
            examples=len(test) * len(on_test) if test else 0,
            candidates=[state.candidates[i].id for i in on_test],
        ),
    )

    def test_score(candidate: Candidate) -> tuple[float, list[Rollout]]:
        return score(
            prepared,
            candidate,
            test,
            lambda _, r: notify("rollout_scored", RolloutScoredPayload(example=r.example_id, score=r.score)),
        )

    seed_test, seed_test_rollouts = test_score(state.candidates[0])
    best_test, best_test_rollouts = (seed_test, seed_test_rollouts) if best_index == 0 else test_score(best)
    seed_id = state.candidates[0].id
    seed_guard = state.guard_scores.get(seed_id, {})
    front = []
    for i in front_indices:
        member = state.candidates[i]
        guard = state.guard_scores.get(member.id, {})
        member_test = seed_test if i == 0 else best_test if i == best_index else test_score(member)[0]
        front.append(
            FrontMember(
                id=member.id,
                val=means[i],
                test=_num(member_test),
                guard=guard,
                origin=member.origin,
                objectives=state.objective_means(i),
                guard_failed=member.id in state.guard_failed,
                guard_unpaid=member.id in state.guard_unpaid,
                guard_warning=means[i] > means[0] and any(v < seed_guard.get(k, v) for k, v in guard.items()),
            )
        )
    usage, events = prepared.ledger.total(), run_dir.events()
    seed_splits = _scored_splits(prepared, state, state.candidates[0], seed_test_rollouts)
    best_splits = _scored_splits(prepared, state, best, best_test_rollouts)
    gains = {
        split: paired_difference(
            [r.score for r in rollouts], [r.score for r in seed_splits[split]], seed=prepared.config.seed
        )
        for split, rollouts in best_splits.items()
        if len(seed_splits.get(split, ())) == len(rollouts)
    }
    flagged = [
        {"candidate": cid, "val": means[state.index_of(cid)], **found} for cid, found in state.constant_answers.items()
    ]
    noisy = [cid for cid in state.within_noise if means[state.index_of(cid)] > means[best_index]]
    summary = RunSummary(
        task=prepared.name,
        run_dir=str(run_dir.root),
        status="finished" if state.finished else "stopped (resumable)",
        stop_reason=state.stop_reason,
        iterations=state.iteration,
        candidates=len(state.candidates),
        metric_calls=state.metric_calls,
        seed=CandidateScores(id=seed_id, val=means[0], test=_num(seed_test), guard=seed_guard),
        best=BestScores(
            id=best.id,
            val=means[best_index],
            test=_num(best_test),
            guard=state.guard_scores.get(best.id, {}),
            components=dict(best.components),
        ),
        best_prompt_dir=str(run_dir.write_best(best)),
        counts=dict(state.counts),
        usage=UsageTotals(
            model_calls=usage.calls,
            cache_hits=usage.cache_hits,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            tokens_saved=usage.tokens_saved,
            cost_usd=usage.cost_usd,
        ),
        usage_by_model=prepared.ledger.to_dict(),
        test_examples=len(test),
        front=front,
        objectives=[{"name": o.name, "direction": o.direction} for o in prepared.config.front_objectives()],
        baselines={split: b.to_dict() for split, rollouts in seed_splits.items() if (b := baseline(rollouts))},
        answers={"seed": _answers(seed_splits), "best": _answers(best_splits)},
        constant_answers=flagged,
        within_noise=[
            {"candidate": cid, "val": means[state.index_of(cid)], "gain": state.within_noise[cid]} for cid in noisy
        ],
        gains={split: gain.to_dict() for split, gain in gains.items()},
        diagnosis=explain(
            RunFacts(
                counts=state.counts,
                rejected_minibatches=rejected_minibatches(events),
                first_rejections=first_rejections(events),
                guard_failures=guard_failures(events, state.guard_unpaid),
                constant_answers=flagged,
                within_noise=[(cid, PairedDifference(**state.within_noise[cid])) for cid in noisy],
                best_constant=[
                    found.line()
                    for split, rollouts in best_splits.items()
                    if (found := constant_answer(rollouts, split))
                ],
                majority={
                    split: (float(np.mean([r.score for r in rollouts])), b.majority, b.majority_rate)
                    for split, rollouts in best_splits.items()
                    if (b := baseline(rollouts))
                },
                gains=gains,
                minibatch_size=prepared.config.minibatch_size,
                seed_val=means[0],
                best_val=means[best_index],
                iterations=state.iteration,
                stop_reason=state.stop_reason,
            )
        ),
    )
    run_dir.save_state(state, prepared.ledger.to_dict())  # usage now includes the test calls
    summary = replace(summary, report=str(write_report(run_dir, summary)))
    run_dir.write_summary(summary)
    return summary


def _notifier(callbacks: Sequence[Callback], state: RunState) -> Callable[[EventKind, Payload], None]:
    """Shows an event to ``callbacks`` only (never to the run log); a failing display must not lose the run."""

    def notify(kind: EventKind, data: Payload) -> None:
        for callback in callbacks:
            try:
                callback(Event(kind=kind, iteration=state.iteration, data=data))
            except Exception:  # noqa: BLE001 - a broken display must not lose a finished run's summary
                pass

    return notify


def _scored_splits(
    prepared: Prepared, state: RunState, candidate: Candidate, test: list[Rollout]
) -> dict[str, list[Rollout]]:
    """``candidate``'s rollouts on validation, test and each guard set it was scored on, by split name."""
    scored = state.rollouts.get(candidate.id, {})
    splits = {"validation": prepared.splits.val, **prepared.splits.guard}
    found = {
        name: [scored[e.id] for e in examples]
        for name, examples in splits.items()
        if examples and all(e.id in scored for e in examples)
    }
    return {**found, "test": test} if test else found


def _answers(splits: dict[str, list[Rollout]]) -> dict[str, dict[str, int]]:
    """The five most frequent answers on each split that has a label set."""
    return {
        split: dict(list(answer_counts(rollouts).items())[:5])
        for split, rollouts in splits.items()
        if baseline(rollouts) is not None
    }


def _num(value: float) -> float | None:
    return None if value != value else value  # NaN (no test split) -> null


__all__ = ["Outcome", "Overrides", "Prepared", "check_candidate", "check_start", "prepare", "run", "score"]
