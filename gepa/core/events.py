"""Events the engine emits at every step, so a CLI, a run log or a user callback can follow it.

``proposal_rejected`` says why (placeholders, unchanged, reflection_error, duplicate, leakage);
``proposal_repaired`` names the problem (a broken placeholder, a copied example, a repeat) a repair request fixed;
``candidate_rejected`` says whether the child did not beat its parent (``not better``) or lost to a sibling of the
same iteration (``outscored``); ``guard_failed`` names a candidate that would have become the best but fell too far
below the seed on a guard set; ``guard_unpaid`` one that would have become the best but whose guard check no
longer fit the metric-call budget (it is never the best); ``constant_answer`` one that would have become the best
but gives one answer on (nearly) every example of the validation or a guard set (never the best either);
``within_noise`` one that would have become the best but whose paired validation gain over the seed has an
interval reaching 0 (``best_gain_level``): noise could explain it, so the seed (or an earlier best) stays.

Two kinds reach the callbacks only and are never written to the run log (one per model call would swell it):
``rollout_scored`` as each rollout finishes, so a progress bar moves inside a batch, and ``final_scoring``
when a finished run scores prompts on its test split outside the budget (``examples`` rollouts follow).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal[
    "run_started",
    "iteration_started",
    "minibatch_skipped",
    "proposal_rejected",
    "proposal_repaired",
    "candidate_rejected",
    "candidate_accepted",
    "merge_accepted",
    "merge_rejected",
    "new_best",
    "guard_failed",
    "guard_unpaid",
    "constant_answer",
    "within_noise",
    "budget",
    "run_finished",
    "rollout_scored",
    "final_scoring",
]
UNRECORDED: frozenset[EventKind] = frozenset({"rollout_scored", "final_scoring"})


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in iteration ``iteration``; ``data`` is plain JSON."""

    kind: EventKind
    iteration: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "iteration": self.iteration, **self.data}


Callback = Callable[[Event], None]
