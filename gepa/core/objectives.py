"""Objective values of rollouts: the per-example rows a pool member keeps and the means a rank is built from.

A failed rollout never looks cheap or good: a score it did not measure counts 0, a cost it did not measure the
candidate's mean (or, when none measured it, the worst value in the pool). ``could_matter`` uses the same rows to
decide whether a child scored on a validation sample is worth scoring on the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gepa.core.answers import balanced_values
from gepa.core.config import COST_OBJECTIVES, OptimizerConfig
from gepa.core.state import RunState
from gepa.core.types import Rollout


def mean_objectives(rollouts: Sequence[Rollout]) -> dict[str, float]:
    """Mean of every objective over ``rollouts``: a score (``score`` or a named one) over all of them, a failed
    rollout counting 0; a cost over the rollouts that measured it. A cost no rollout measured is left out, and a
    select rule counts it as the worst value. ``balanced`` is the mean per-label recall, when every rollout names
    its expected answer."""
    means = {"score": sum(r.score for r in rollouts) / max(1, len(rollouts))}
    balanced = balanced_values(rollouts)
    if balanced is not None:
        means["balanced"] = sum(balanced) / len(balanced)
    for name in {name for r in rollouts for name in r.objectives} - {"score"}:
        if name in COST_OBJECTIVES:
            values = [r.objectives[name] for r in rollouts if name in r.objectives]
            means[name] = sum(values) / len(values)
        else:
            means[name] = sum(r.objectives.get(name, 0.0) for r in rollouts) / len(rollouts)
    return means


def objective_rows(config: OptimizerConfig, state: RunState, rollouts: Sequence[Rollout]) -> dict[str, list[float]]:
    """Per objective, the values of ``rollouts``. A rollout that measured nothing (its system failed) gets the
    candidate's mean over the others, or, when none measured it, the worst value in the pool: a failure is
    never the cheapest candidate."""
    known = {name for row in state.val_objectives for name in row}
    names = sorted(({name for r in rollouts for name in r.objectives} | known) - {"score", "balanced"})
    rows = {}
    balanced = balanced_values(rollouts)
    if balanced is not None:
        rows["balanced"] = balanced
    for name in names:
        measured = [r.objectives[name] for r in rollouts if name in r.objectives]
        if config.objective(name).direction == "max":
            fill = 0.0  # a score nobody measured is 0, as the score of a failed rollout is
        elif measured:
            fill = sum(measured) / len(measured)
        else:
            pool = [v for row in state.val_objectives for v in row.get(name, [])]
            fill = max(pool) if pool else 0.0
        rows[name] = [r.objectives.get(name, fill) for r in rollouts]
    return rows


def could_matter(config: OptimizerConfig, state: RunState, sample: Sequence[Rollout], picks: Sequence[int]) -> bool:
    """Whether a child scored on the validation examples ``picks`` (``sample``) ranks at least as high as the best
    does there, or beats every pool member on some example for some front objective: if not, the rest of the set
    is not worth paying for."""
    if config.rank(mean_objectives(sample)) >= config.rank(state.objective_means(state.best_index(), picks)):
        return True
    for objective in config.front_objectives():
        unmeasured = 0.0 if objective.direction == "max" else math.inf  # a failure is never the cheapest
        values = np.array(
            [
                objective.oriented(
                    r.score if objective.name == "score" else r.objectives.get(objective.name, unmeasured)
                )
                for r in sample
            ]
        )
        if np.any(values > state.objective_matrix(objective)[:, list(picks)].max(axis=0) + 1e-12):
            return True
    return False


def finite(rank: Sequence[float]) -> list[float | None]:
    """A rank as JSON can hold it: an unmeasured (infinite) part becomes null."""
    return [value if math.isfinite(value) else None for value in rank]
