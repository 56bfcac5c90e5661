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
from typing import Any, Literal, TypedDict

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


# One payload type per kind, in the order its keys are written to events.jsonl. ``PAYLOADS`` pairs them, and
# tests/test_event_payloads.py checks every event a run emits against its kind's type.
class RunStartedPayload(TypedDict):
    seed: str
    train: int
    val: int


class IterationStartedPayload(TypedDict):
    parent: str
    minibatch: list[str]


class MinibatchSkippedPayload(TypedDict):
    parent: str


class ProposalRejectedPayload(TypedDict):
    parent: str
    slot: int
    component: str
    reason: str  # an admission.RejectionReason
    detail: str
    text: str


class ProposalRepairedPayload(TypedDict):
    parent: str
    slot: int
    problem: str


class _MinibatchRejection(TypedDict):
    parent: str
    child: str
    origin: str
    reason: Literal["outscored", "not better"]
    parent_minibatch: float
    child_minibatch: float
    components: dict[str, str]


class MinibatchRejectionPayload(_MinibatchRejection, total=False):
    """A child that did not beat its parent on the minibatch, or lost to a sibling of its iteration."""

    select_rank: list[list[float | None]]  # under a select rule: the child's and the parent's rank, which decided


class SubsetRejectionPayload(TypedDict):
    """A child whose validation sample showed it could neither join the front nor become the best."""

    child: str
    origin: str
    reason: Literal["validation subset"]
    subset: int
    child_subset: float
    best_subset: float


CandidateRejectedPayload = MinibatchRejectionPayload | SubsetRejectionPayload


class CandidateAcceptedPayload(TypedDict):
    parent: str
    child: str
    origin: str
    parent_minibatch: float
    child_minibatch: float
    components: dict[str, str]
    feedback: list[str]


class MergePayload(TypedDict):
    first: str
    second: str
    child: str
    ancestor: str
    subsample: float
    best_parent_subsample: float


class NewBestPayload(TypedDict):
    candidate: str
    score: float
    previous: float | None
    objectives: dict[str, float]
    guard: dict[str, float]


class GuardFailedPayload(TypedDict):
    candidate: str
    score: float
    sets: list[str]
    guard: dict[str, float]
    seed_guard: dict[str, float]
    tolerance: float


class GuardUnpaidPayload(TypedDict):
    candidate: str
    score: float
    calls: int
    remaining: int


class ConstantAnswerPayload(TypedDict):
    candidate: str
    split: str
    answer: str
    count: int
    total: int
    score: float
    label_rate: float
    majority: str
    majority_rate: float
    line: str


class WithinNoisePayload(TypedDict):
    """The candidate and its gain over the seed: ``intervals.PairedDifference``'s fields, flattened."""

    candidate: str
    score: float
    mean: float
    low: float
    high: float
    level: float
    n: int
    better: int
    worse: int


class BudgetPayload(TypedDict):
    metric_calls: int
    cost_usd: float


class RunFinishedPayload(TypedDict):
    reason: str
    best: str
    best_score: float


class RolloutScoredPayload(TypedDict):
    example: str
    score: float


class FinalScoringPayload(TypedDict):
    split: str
    examples: int
    candidates: list[str]


Payload = (
    RunStartedPayload
    | IterationStartedPayload
    | MinibatchSkippedPayload
    | ProposalRejectedPayload
    | ProposalRepairedPayload
    | CandidateRejectedPayload
    | CandidateAcceptedPayload
    | MergePayload
    | NewBestPayload
    | GuardFailedPayload
    | GuardUnpaidPayload
    | ConstantAnswerPayload
    | WithinNoisePayload
    | BudgetPayload
    | RunFinishedPayload
    | RolloutScoredPayload
    | FinalScoringPayload
)
PAYLOADS: dict[EventKind, tuple[type, ...]] = {
    "run_started": (RunStartedPayload,),
    "iteration_started": (IterationStartedPayload,),
    "minibatch_skipped": (MinibatchSkippedPayload,),
    "proposal_rejected": (ProposalRejectedPayload,),
    "proposal_repaired": (ProposalRepairedPayload,),
    "candidate_rejected": (MinibatchRejectionPayload, SubsetRejectionPayload),
    "candidate_accepted": (CandidateAcceptedPayload,),
    "merge_accepted": (MergePayload,),
    "merge_rejected": (MergePayload,),
    "new_best": (NewBestPayload,),
    "guard_failed": (GuardFailedPayload,),
    "guard_unpaid": (GuardUnpaidPayload,),
    "constant_answer": (ConstantAnswerPayload,),
    "within_noise": (WithinNoisePayload,),
    "budget": (BudgetPayload,),
    "run_finished": (RunFinishedPayload,),
    "rollout_scored": (RolloutScoredPayload,),
    "final_scoring": (FinalScoringPayload,),
}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in iteration ``iteration``; ``data`` is plain JSON, shaped as ``PAYLOADS[kind]``."""

    kind: EventKind
    iteration: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "iteration": self.iteration, **self.data}


Callback = Callable[[Event], None]
