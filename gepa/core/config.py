"""The one configuration object of the optimizer (budgets, strategies, sizes), and the one definition of
each setting: its default, its bounds, its help text and where it goes in a task file.

The task file's ``budget:`` and ``optimizer:`` sections are generated from these fields (``gepa.taskfile.spec``), so a
setting is declared once and the task file, the JSON Schema and the Python API cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

SelectorName = Literal["pareto", "best", "epsilon_greedy"]
Direction = Literal["max", "min"]
ValidationPolicy = Literal["full", "subset"]
ExecutorName = Literal["auto", "threads", "async", "ray"]
# Measured on every rollout besides the evaluator's scores; latency only when an objective asks for it, since
# it is the one measurement a rerun cannot repeat (a cached rerun replays the first run's).
GUARD_TOLERANCE = 0.02  # how far below the seed a would-be best may fall on a guard set
COST_OBJECTIVES = ("tokens", "cost_usd", "latency_s", "prompt_chars")


@dataclass(frozen=True, kw_only=True)
class Objective:
    """A measurement the search keeps apart: ``score``, a named evaluator score, or a cost objective."""

    name: str
    direction: Direction = None  # type: ignore[assignment]  # resolved from the name when not given

    def __post_init__(self) -> None:
        if self.direction is None:  # lower is better for the cost objectives, higher otherwise
            object.__setattr__(self, "direction", "min" if self.name in COST_OBJECTIVES else "max")

    def oriented(self, value: float) -> float:
        """``value`` turned so that higher is better."""
        return value if self.direction == "max" else -value

    @classmethod
    def named(cls, name: str) -> Objective:
        """The objective with its usual direction: lower is better for the cost objectives, higher otherwise."""
        return cls(name=name)


@dataclass(frozen=True, kw_only=True)
class Selection:
    """How a run picks its one best prompt (and whether a child beats its parent on the minibatch): a weighted
    sum of the objectives (``min`` objectives count negatively), or ``maximize`` one objective subject to
    ``limits`` on others (an upper bound for a ``min`` objective, a lower bound for a ``max`` one)."""

    weights: dict[str, float] | None = None
    maximize: str | None = None
    limits: dict[str, float] | None = None

    def names(self) -> set[str]:
        """Every objective the rule reads."""
        return set(self.weights or ()) | set(self.limits or ()) | ({self.maximize} if self.maximize else set())


ComponentSelection = Literal["round_robin", "all"]
Acceptance = Literal["strict", "non_strict"]
Section = Literal["budget", "optimizer"]


_DEFAULT = object()


def setting(
    default: Any,
    help: str,
    *,
    section: Section | None = None,
    resumable: bool = False,
    added_later: bool = False,
    legacy: Any = _DEFAULT,
    **bounds: float,
) -> Any:
    """A config field: ``section`` places it in the task file (None: Python only); ``resumable``: a resumed run may
    change it (how long the run goes on, how many calls are in flight and where; every budget is); ``added_later``:
    runs recorded before it existed held it at ``legacy`` (by default, its default: what they did without it);
    ``bounds`` are ``gt``, ``ge`` or ``le`` checks the task file enforces."""
    metadata = {
        "help": help,
        "section": section,
        "bounds": bounds,
        "resumable": resumable or section == "budget",
        "added_later": added_later or legacy is not _DEFAULT,
    }
    if legacy is not _DEFAULT:
        metadata["legacy"] = legacy
    return field(default=default, metadata=metadata)


@dataclass(frozen=True, kw_only=True)
class OptimizerConfig:
    """Every knob of a run. ``None`` budgets are unlimited; at least one should be set.

    A metric call is one task-model rollout scored by the evaluator. The budget is checked before
    spending: an iteration starts only if it can finish (the minibatch for the parent and each proposal, plus
    the validation set). ``max_idle_iterations`` ends a run that keeps proposing nothing new to evaluate.

    Each iteration asks for ``proposals_per_iteration`` children (concurrently; the best on the minibatch goes
    on). A proposal gets up to ``proposal_attempts`` reflection calls: a repeated text is asked again with the
    examples in another order and another sample, a broken placeholder gets one repair request. Reflection
    calls have their own budget, ``max_reflection_calls``; None means one per ``minibatch_size`` metric calls
    of ``max_metric_calls`` (unlimited when that is unlimited too).
    """

    max_metric_calls: int | None = setting(
        300,
        "Task-model rollouts scored by the evaluator; the run stops before an iteration that could exceed it.",
        section="budget",
        gt=0,
    )
    max_cost_usd: float | None = setting(
        None, "Dollars spent on every model of the run (task, reflection, judge).", section="budget", gt=0
    )
    max_seconds: float | None = setting(
        None,
        "Wall-clock seconds; checked between iterations and between groups of rollouts inside one (an unfinished "
        "iteration is done again on resume, its paid rollouts kept).",
        section="budget",
        gt=0,
    )
    max_reflection_calls: int | None = setting(
        None, "Calls to the reflection model; default: max_metric_calls / minibatch_size.", section="budget", gt=0
    )
    max_iterations: int | None = setting(None, "Iterations of the loop.", section="budget", gt=0)
    patience: int | None = setting(None, "Stop after this many iterations without a new best.", section="budget", gt=0)
    max_idle_iterations: int = setting(
        20, "Stop after this many iterations that evaluated nothing new.", gt=0, resumable=True
    )
    minibatch_size: int = setting(
        3,
        "Training examples per iteration: the evidence the reflector reads and the test a child must pass.",
        section="optimizer",
        gt=0,
    )
    proposals_per_iteration: int = setting(
        3,
        "Children asked for per iteration, concurrently; the best on the minibatch goes on.",
        section="optimizer",
        gt=0,
    )
    proposal_attempts: int = setting(
        3,
        "Reflection calls a proposal may use: a repeat, a broken placeholder or a copied training example "
        "gets one repair request; a duplicate is asked again.",
        section="optimizer",
        gt=0,
    )
    selector: SelectorName = setting(
        "pareto",
        "How a parent is picked: a Pareto-front member (GEPA), the best, or epsilon-greedy.",
        section="optimizer",
    )
    epsilon: float = setting(0.1, "Exploration rate of the epsilon_greedy selector.", section="optimizer", ge=0, le=1)
    component_selection: ComponentSelection = setting(
        "round_robin", "Which components a proposal rewrites: one in turn, or all at once.", section="optimizer"
    )
    acceptance: Acceptance = setting(
        "strict", "A child must beat its parent on the minibatch (strict) or tie it.", section="optimizer"
    )
    skip_perfect: bool = setting(True, "Skip minibatches the parent already solves.", section="optimizer")
    perfect_score: float = setting(1.0, "The score that counts as solved.")
    merge: bool = setting(
        True, "Now and then combine two lineages that changed different components.", section="optimizer"
    )
    max_merges: int = setting(5, "Merges per run.", section="optimizer", ge=0)
    merge_subsample: int = setting(
        5, "Validation examples a merged child is first checked on.", section="optimizer", gt=0
    )
    validation: ValidationPolicy = setting(
        "full",
        "How an accepted child is validated: on every validation example (full), or first on "
        "validation_subset of them and on the rest only if it could join the front or become the best "
        "(subset: for validation sets of hundreds of examples).",
        section="optimizer",
        added_later=True,
    )
    validation_subset: int = setting(
        30,
        "Validation examples a child is first scored on under validation: subset.",
        section="optimizer",
        gt=0,
        added_later=True,
    )
    executor: ExecutorName = setting(
        "auto",
        "Where rollouts run: threads; async (one event loop keeping up to 'concurrency' calls in flight; "
        "needs a system with arun); ray (Ray tasks on a cluster, extra 'ray'). auto: async for API models "
        "(litellm, openai), threads otherwise.",
        section="optimizer",
        resumable=True,
        added_later=True,
    )
    ray_address: str | None = setting(
        None,
        "The Ray cluster to join under executor: ray (default: RAY_ADDRESS, else a local cluster for the run).",
        section="optimizer",
        resumable=True,
        added_later=True,
    )
    ray_cpus_per_rollout: float = setting(
        1.0, "CPUs a rollout needs under executor: ray.", section="optimizer", gt=0, resumable=True, added_later=True
    )
    ray_gpus_per_rollout: float = setting(
        0.0, "GPUs a rollout needs under executor: ray.", section="optimizer", ge=0, resumable=True, added_later=True
    )
    concurrency: int = setting(4, "Model calls in flight at once.", section="optimizer", gt=0, resumable=True)
    rollout_timeout: float | None = setting(
        300.0,
        "Seconds one rollout (the model call and the evaluator) may take; past it, the example scores 0 with "
        "a timeout as its feedback and the run goes on. null: no limit.",
        section="optimizer",
        gt=0,
        resumable=True,
    )
    samples_per_example: int = setting(
        1,
        "Times each (candidate, example) pair is run and scored; its score is the mean. For a sampled task model "
        "(temperature > 0) or an evaluator of your own whose score varies; every sample is cached, so a rerun "
        "replays them. A metric call is still one pair (its model calls are this many).",
        section="optimizer",
        gt=0,
        added_later=True,
    )
    guard_tolerance: float = setting(
        GUARD_TOLERANCE,
        "How far below the seed prompt a candidate may score on a guard set and still become the best.",
        section="optimizer",
        ge=0,
        le=1,
    )
    best_gain_level: float | None = setting(
        0.95,
        "A candidate becomes the best only when its paired gain over the seed on validation has a bootstrap "
        "interval at this level above 0: a gain noise explains keeps the seed. null: the highest validation "
        "mean wins. Not applied under a select rule.",
        section="optimizer",
        gt=0,
        lt=1,
        legacy=None,
    )
    seed: int = setting(0, "Drives every random choice; the same seed and cached answers give the same run.")
    optimize: tuple[str, ...] | None = setting(None, "Components the optimizer may change (default: all).")
    objectives: tuple[Objective, ...] = setting(
        (), "Objectives kept apart on the Pareto front (default: score).", added_later=True
    )
    select: Selection | None = setting(
        None, "How the best prompt is chosen among them (default: best score).", added_later=True
    )

    def objective_names(self) -> set[str]:
        """Every objective the run reads: on the front and in the select rule."""
        return {o.name for o in self.objectives} | (self.select.names() if self.select else set())

    def front_objectives(self) -> tuple[Objective, ...]:
        """The objectives the front is built on: the configured ones, else the score alone."""
        return self.objectives or (Objective(name="score"),)

    def objective(self, name: str) -> Objective:
        """The objective ``name`` as configured, else with its usual direction."""
        return next((o for o in self.front_objectives() if o.name == name), Objective.named(name))

    def rank(self, means: dict[str, float]) -> tuple[float, ...]:
        """How good a candidate is, from its mean objectives: higher is better (the select rule, else score)."""
        select = self.select
        if select is None:
            return (means.get("score", 0.0),)
        if select.weights:  # an objective not measured is the worst possible
            return (
                sum(
                    w * self.objective(n).oriented(means[n]) if n in means else -math.inf
                    for n, w in select.weights.items()
                ),
            )
        over = 0.0
        for name, bound in (select.limits or {}).items():
            if name not in means:
                over = math.inf
                continue
            value = means[name]
            minimise = self.objective(name).direction == "min"
            excess = value - bound if minimise else bound - value
            over += max(0.0, excess) / (abs(bound) or 1.0)
        primary = means.get(select.maximize or "score", 0.0)
        return (1.0, primary) if over == 0 else (0.0, -over)

    def seed_budget_problem(self, val_size: int, guard_size: int) -> str | None:
        """Why ``max_metric_calls`` cannot pay the seed's scoring (the validation and guard sets); None if it can.
        Checked before a run starts, so the mistake leaves no run directory."""
        limit = self.max_metric_calls
        if limit is None or limit >= val_size + guard_size:
            return None
        guard = f" and the {guard_size} guard-set examples" if guard_size else ""
        return (
            f"budget of {limit} metric calls cannot even score the seed on the {val_size} validation "
            f"examples{guard}; raise max_metric_calls"
        )

    def reflection_call_limit(self) -> int | None:
        """``max_reflection_calls``, or its default derived from the metric-call budget."""
        if self.max_reflection_calls is not None:
            return self.max_reflection_calls
        if self.max_metric_calls is None:
            return None
        return max(self.max_metric_calls // self.minibatch_size, self.proposals_per_iteration * self.proposal_attempts)


def resumable_settings() -> set[str]:
    """Settings a resumed run may change; any other changes what is measured, so a run mixing two would hold
    scores that cannot be compared."""
    return {f.name for f in fields(OptimizerConfig) if f.metadata.get("resumable")}


def added_settings() -> set[str]:
    """Settings added after runs were first recorded: a run recorded without one held it at its default."""
    return {f.name for f in fields(OptimizerConfig) if f.metadata.get("added_later")}


def legacy_values() -> dict[str, Any]:
    """Settings added later whose runs recorded before them behaved otherwise than the default does now: the
    value such a run goes on with when resumed (the noise rule did not exist, so it stays off)."""
    return {f.name: f.metadata["legacy"] for f in fields(OptimizerConfig) if "legacy" in f.metadata}


def section_fields(section: Section) -> list[Any]:
    """The dataclass fields a task-file section holds, in declaration order."""
    return [f for f in fields(OptimizerConfig) if f.metadata.get("section") == section]
