"""Everything a run knows, as plain data that round-trips through JSON (no pickle).

Saved after every iteration, so a killed run resumes exactly where the last finished iteration left it:
the random generator's state and the minibatch sampler are part of it. ``rollout_log`` keeps the order rollouts
were paid for, so a run directory can store them in an append-only log and a checkpoint writes only new work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gepa.core.candidate import Candidate
from gepa.core.config import Objective
from gepa.core.pareto import frontier_weights
from gepa.core.types import Rollout
from gepa.errors import StateFormatError

SCHEMA_VERSION = 2  # 2: rollouts live in a separate log (``to_dict(rollouts=False)``); 1 held them inline

# Every counter of ``RunState.counts``: what the loop did, read back by the diagnosis and the summary.
Counter = Literal[
    "accepted",
    "rejected",
    "outscored",
    "skipped",
    "subset_rejected",  # children on the minibatch, then validation
    "proposals",
    "proposals_asked",
    "reflection_calls",
    "repaired",  # what reflection cost and gave
    "proposal_reflection_error",
    "proposal_placeholders",
    "proposal_unchanged",
    "proposal_duplicate",
    "proposal_leakage",  # proposals turned away before any rollout, by reason
    "constant_answer",
    "within_noise",
    "guard_failed",
    "guard_unpaid",  # would-be bests refused
    "merges_accepted",
    "merges_rejected",
]


@dataclass(kw_only=True)
class RunState:
    """The pool, its validation scores, every rollout paid for, and the loop's position."""

    candidates: list[Candidate] = field(default_factory=list)
    val_scores: list[list[float]] = field(default_factory=list)
    val_objectives: list[dict[str, list[float]]] = field(default_factory=list)  # other objectives, per example
    best_id: str | None = None  # the candidate the engine chose as best (by the run's select rule)
    found_at: list[dict[str, float]] = field(default_factory=list)
    rollouts: dict[str, dict[str, Rollout]] = field(default_factory=dict)
    rollout_log: list[tuple[str, str]] = field(default_factory=list)  # (candidate id, example id), in paid order
    iteration: int = 0
    metric_calls: int = 0
    rng_state: Any = None
    sampler_order: list[int] = field(default_factory=list)
    sampler_position: int = 0
    next_component: dict[str, int] = field(default_factory=dict)
    merges_due: int = 0
    merges_done: int = 0
    merge_attempts: list[list[str]] = field(default_factory=list)
    stale_iterations: int = 0
    idle_iterations: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    guard_scores: dict[str, dict[str, float]] = field(default_factory=dict)  # candidate id -> guard set -> mean
    guard_failed: list[str] = field(default_factory=list)  # ids that fell too far on a guard set: never the best
    guard_unpaid: list[str] = field(default_factory=list)  # would-be bests the budget could not check: never the best
    constant_answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> ConstantAnswer: never the best
    within_noise: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> its PairedDifference: not the best
    finished: bool = False
    stop_reason: str = ""
    _matrix: NDArray[np.float64] | None = field(default=None, repr=False, compare=False)

    def score_matrix(self) -> NDArray[np.float64]:
        """Candidates x validation examples, kept as a growing numpy array (rows are only ever appended)."""
        cached = self._matrix
        rows = len(self.val_scores)
        if cached is None or cached.shape[0] > rows:
            cached = np.zeros((0, len(self.val_scores[0]) if rows else 0), dtype=np.float64)
        if cached.shape[0] < rows:
            fresh = np.array(self.val_scores[cached.shape[0] :], dtype=np.float64).reshape(rows - cached.shape[0], -1)
            cached = np.vstack([cached, fresh]) if cached.size else fresh
        self._matrix = cached
        return cached

    def mean_scores(self) -> list[float]:
        if not self.val_scores:
            return []
        matrix = self.score_matrix()
        return (matrix.mean(axis=1) if matrix.shape[1] else np.zeros(matrix.shape[0])).tolist()

    def objective_means(self, index: int, columns: Sequence[int] | None = None) -> dict[str, float]:
        """Candidate ``index``'s mean validation value of the score and of every other recorded objective, over
        every validation example or over the ``columns`` given."""

        def mean(values: Sequence[float]) -> float:
            picked = values if columns is None else [values[j] for j in columns]
            return float(np.mean(picked)) if picked else 0.0

        means = {"score": mean(self.val_scores[index])}
        if index < len(self.val_objectives):
            means.update({k: mean(v) for k, v in self.val_objectives[index].items()})
        return means

    def objective_matrix(self, objective: Objective) -> NDArray[np.float64]:
        """Candidates x validation examples for one objective, turned so that higher is better."""
        if objective.name == "score":
            matrix = self.score_matrix()
        else:
            matrix = np.array(
                [row.get(objective.name, [0.0] * len(self.val_scores[0])) for row in self.val_objectives],
                dtype=np.float64,
            ).reshape(len(self.val_scores), -1)
        return matrix if objective.direction == "max" else -matrix

    def front_weights(self, objectives: Sequence[Objective]) -> NDArray[np.int64]:
        """Per candidate, how many (objective, example) pairs it is best on: the multi-objective front."""
        return sum(
            (frontier_weights(self.objective_matrix(o)) for o in objectives),
            np.zeros(len(self.candidates), dtype=np.int64),
        )

    def best_index(self) -> int:
        """The candidate the engine chose as best; in a state without that choice, the highest mean validation
        score (the earliest on ties) that did not fail (or miss) a guard check, answer one thing to everything nor
        gain over the seed by no more than noise explains. The seed is never excluded."""
        if self.best_id is not None:
            return self.index_of(self.best_id)
        return self.highest_allowed()

    def highest_allowed(self, *, refuse_noise: bool = True) -> int:
        """The highest mean validation score (the earliest on ties) among candidates not refused as the best;
        ``refuse_noise=False`` lets in those refused only for a gain noise explains (what ``best_gain_level:
        null`` would have crowned; with the pareto selector, no patience and full validation, which never read
        the best, the rule changes that choice and nothing else in the search)."""
        means = self.mean_scores()
        refused = set(self.guard_failed) | set(self.guard_unpaid) | set(self.constant_answers)
        refused |= set(self.within_noise) if refuse_noise else set()
        failed = refused - {self.candidates[0].id}
        allowed = [i for i in range(len(means)) if self.candidates[i].id not in failed]
        return max(allowed, key=lambda i: (means[i], -i))

    def index_of(self, candidate_id: str) -> int:
        for i, candidate in enumerate(self.candidates):
            if candidate.id == candidate_id:
                return i
        raise KeyError(candidate_id)

    def bump(self, counter: Counter, by: int = 1) -> None:
        self.counts[counter] = self.counts.get(counter, 0) + by

    def add_rollout(self, candidate_id: str, rollout: Rollout) -> None:
        """Record a paid rollout (and its place in the log)."""
        self.rollouts.setdefault(candidate_id, {})[rollout.example_id] = rollout
        self.rollout_log.append((candidate_id, rollout.example_id))

    def rollout_records(self, start: int = 0) -> list[dict[str, Any]]:
        """The logged rollouts from position ``start`` on, as JSON-able records."""
        return [{"candidate": cid, **self.rollouts[cid][eid].to_dict()} for cid, eid in self.rollout_log[start:]]

    def to_dict(self, *, rollouts: bool = True) -> dict[str, Any]:
        """Everything as JSON; without ``rollouts`` only their count (they are then stored elsewhere, in order)."""
        data = {
            "schema_version": SCHEMA_VERSION,
            "candidates": [
                {**c.to_dict(), "val_scores": s, "found_at": f}
                for c, s, f in zip(self.candidates, self.val_scores, self.found_at, strict=True)
            ],
            "val_objectives": self.val_objectives,
            "best_id": self.best_id,
            "rollouts_logged": len(self.rollout_log),
            "iteration": self.iteration,
            "metric_calls": self.metric_calls,
            "rng_state": _rng_to_json(self.rng_state),
            "sampler": {"order": self.sampler_order, "position": self.sampler_position},
            "next_component": self.next_component,
            "merges": {"due": self.merges_due, "done": self.merges_done, "attempts": self.merge_attempts},
            "stale_iterations": self.stale_iterations,
            "idle_iterations": self.idle_iterations,
            "counts": self.counts,
            "guard_scores": self.guard_scores,
            "guard_failed": self.guard_failed,
            "guard_unpaid": self.guard_unpaid,
            "constant_answers": self.constant_answers,
            "within_noise": self.within_noise,
            "finished": self.finished,
            "stop_reason": self.stop_reason,
        }
        if rollouts:
            data["rollouts"] = self.rollout_records()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], rollouts: Sequence[Mapping[str, Any]] | None = None) -> RunState:
        """The state from ``to_dict``'s JSON; ``rollouts`` gives the logged records when they are kept apart."""
        version = data.get("schema_version") if isinstance(data, Mapping) else None
        if version not in (1, SCHEMA_VERSION):
            raise StateFormatError(f"unknown state schema_version {version!r} (this gepa reads 1 and {SCHEMA_VERSION})")
        try:
            records = data["candidates"]
            state = cls(
                candidates=[Candidate.from_dict(r) for r in records],
                val_scores=[[float(x) for x in r["val_scores"]] for r in records],
                found_at=[dict(r["found_at"]) for r in records],
                val_objectives=[
                    {k: [float(x) for x in v] for k, v in row.items()} for row in data.get("val_objectives", [])
                ]
                + [{}] * (len(records) - len(data.get("val_objectives", []))),  # older states
                best_id=data.get("best_id"),
                iteration=int(data["iteration"]),
                metric_calls=int(data["metric_calls"]),
                rng_state=_rng_from_json(data["rng_state"]),
                sampler_order=list(data["sampler"]["order"]),
                sampler_position=int(data["sampler"]["position"]),
                next_component=dict(data["next_component"]),
                merges_due=int(data["merges"]["due"]),
                merges_done=int(data["merges"]["done"]),
                merge_attempts=[list(a) for a in data["merges"]["attempts"]],
                stale_iterations=int(data["stale_iterations"]),
                idle_iterations=int(data["idle_iterations"]),
                counts=dict(data["counts"]),
                guard_scores={
                    cid: {k: float(v) for k, v in per.items()} for cid, per in data.get("guard_scores", {}).items()
                },
                guard_failed=list(data.get("guard_failed", [])),
                guard_unpaid=list(data.get("guard_unpaid", [])),
                constant_answers={str(k): dict(v) for k, v in data.get("constant_answers", {}).items()},
                within_noise={str(k): dict(v) for k, v in data.get("within_noise", {}).items()},
                finished=bool(data["finished"]),
                stop_reason=str(data["stop_reason"]),
            )
            if version == 1:  # rollouts inline, by candidate
                rollouts = [{"candidate": cid, **r} for cid, per in data["rollouts"].items() for r in per.values()]
            elif rollouts is None:
                rollouts = data.get("rollouts", [])
            for record in rollouts or []:
                state.add_rollout(str(record["candidate"]), Rollout.from_dict(record))
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFormatError(f"state is missing or has a malformed field: {exc}") from exc
        return state


def _rng_to_json(state: Any) -> Any:
    if state is None:
        return None
    version, internal, gauss = state
    return [version, list(internal), gauss]


def _rng_from_json(data: Any) -> Any:
    if data is None:
        return None
    version, internal, gauss = data
    return (version, tuple(internal), gauss)
