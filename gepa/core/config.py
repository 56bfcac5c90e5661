"""The one configuration object of the optimizer (budgets, strategies, sizes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SelectorName = Literal["pareto", "best", "epsilon_greedy"]
ComponentSelection = Literal["round_robin", "all"]
Acceptance = Literal["strict", "non_strict"]


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

    max_metric_calls: int | None = 300
    max_cost_usd: float | None = None
    max_seconds: float | None = None
    max_reflection_calls: int | None = None
    max_iterations: int | None = None
    patience: int | None = None
    max_idle_iterations: int = 20
    minibatch_size: int = 3
    proposals_per_iteration: int = 3
    proposal_attempts: int = 3
    selector: SelectorName = "pareto"
    epsilon: float = 0.1
    component_selection: ComponentSelection = "round_robin"
    acceptance: Acceptance = "strict"
    skip_perfect: bool = True
    perfect_score: float = 1.0
    merge: bool = True
    max_merges: int = 5
    merge_subsample: int = 5
    concurrency: int = 4
    seed: int = 0
    optimize: tuple[str, ...] | None = None

    def reflection_call_limit(self) -> int | None:
        """``max_reflection_calls``, or its default derived from the metric-call budget."""
        if self.max_reflection_calls is not None:
            return self.max_reflection_calls
        if self.max_metric_calls is None:
            return None
        return max(self.max_metric_calls // max(1, self.minibatch_size), self.proposals_per_iteration * self.proposal_attempts)
