"""When the loop stops: a requested stop, a limit reached, or a budget the next iteration could pass.

An iteration starts only if it can finish within ``max_metric_calls`` and ``max_reflection_calls``, so a run
never spends past its budget; a requested stop leaves the run resumable, every other reason ends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gepa.core.config import OptimizerConfig
from gepa.core.state import RunState

STOP_REQUESTED = "stop requested"


@dataclass(frozen=True)
class RunShape:
    """What the worst case of an iteration depends on besides the settings."""

    train: int
    val: int
    guard_calls: int
    components_per_proposal: int


def stop_reason(
    config: OptimizerConfig,
    shape: RunShape,
    state: RunState,
    *,
    stop_requested: bool,
    elapsed_s: float,
    spent_usd: float,
    guard_fits: bool,
) -> str:
    """Why the loop stops before its next iteration; "" when it goes on."""
    c = config
    if stop_requested:
        return STOP_REQUESTED
    if c.max_iterations is not None and state.iteration >= c.max_iterations:
        return f"max_iterations ({c.max_iterations}) reached"
    if c.max_seconds is not None and elapsed_s >= c.max_seconds:
        return f"max_seconds ({c.max_seconds:g}) reached"
    if c.max_cost_usd is not None and spent_usd >= c.max_cost_usd:
        return f"max_cost_usd ({c.max_cost_usd:g}) reached"
    if state.idle_iterations >= c.max_idle_iterations:
        return f"nothing new to evaluate in {c.max_idle_iterations} iterations ({idle_cause(state.counts)})"
    if c.patience is not None and state.stale_iterations >= c.patience:
        return f"no improvement in {c.patience} iterations"
    if c.max_metric_calls is not None:
        if not guard_fits:
            return (
                f"max_metric_calls ({c.max_metric_calls}) reached: a new best could no longer be checked on "
                f"the guard sets ({shape.guard_calls} calls)"
            )
        minibatches = 1 + c.proposals_per_iteration
        # A validation subset is part of the validation set: it never adds to the worst case. The guard sets
        # do not either: they are paid only for a would-be best, and only if they still fit (see Promotion).
        worst_case = max(minibatches * min(c.minibatch_size, shape.train), c.merge_subsample) + shape.val
        if state.metric_calls + worst_case > c.max_metric_calls:
            return f"max_metric_calls ({c.max_metric_calls}) reached: the next step could exceed it"
    limit = c.reflection_call_limit()
    if limit is not None:
        worst_case = c.proposals_per_iteration * c.proposal_attempts * shape.components_per_proposal
        if state.counts.get("reflection_calls", 0) + worst_case > limit:
            return f"max_reflection_calls ({limit}) reached: the next step could exceed it"
    return ""


def idle_cause(counts: dict[str, int]) -> str:
    """What most often kept iterations from evaluating anything."""
    causes = {
        "the parent already solved its minibatches": counts.get("skipped", 0),
        "the reflector repeated texts already tried": counts.get("proposal_unchanged", 0)
        + counts.get("proposal_duplicate", 0),
        "proposals broke placeholders": counts.get("proposal_placeholders", 0),
        "every reflection call failed": counts.get("proposal_reflection_error", 0),
    }
    cause, count = max(causes.items(), key=lambda item: item[1])
    return cause if count else "no proposals"
