"""Who becomes the best: a scored pool member that ranks above the best, answers more than one thing on every
split, gains over the seed on validation by more than noise explains (``best_gain_level``), and does not fall on
a guard set (checked only when the budget can still pay for it).

A candidate refused here stays in the pool (it may still be a parent or a merge source); the run records why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from gepa.core.answers import ConstantAnswer, constant_answer
from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.emitter import Emit
from gepa.core.events import (
    ConstantAnswerPayload,
    GuardFailedPayload,
    GuardUnpaidPayload,
    NewBestPayload,
    WithinNoisePayload,
)
from gepa.core.intervals import PairedDifference, paired_difference
from gepa.core.state import RunState
from gepa.core.types import Example, Rollout

Evaluate = Callable[[RunState, Candidate, Sequence[Example]], list[Rollout]]


class Promotion:
    """Applies the promotion rules for one run; ``evaluate`` pays for guard checks, ``emit`` records decisions."""

    def __init__(
        self,
        config: OptimizerConfig,
        val: Sequence[Example],
        guard: Mapping[str, Sequence[Example]],
        evaluate: Evaluate,
        emit: Emit,
    ) -> None:
        self.config, self.val, self.guard = config, val, guard
        self.guard_calls = sum(len(examples) for examples in guard.values())
        self._evaluate, self._emit = evaluate, emit

    def rank(self, state: RunState, index: int) -> tuple[float, ...]:
        return self.config.rank(state.objective_means(index))

    def guard_fits(self, state: RunState) -> bool:
        """Whether the budget can still pay a candidate's guard check (always, with no guard sets or no limit)."""
        budget = self.config.max_metric_calls
        return budget is None or state.metric_calls + self.guard_calls <= budget

    def consider(self, state: RunState, index: int, best: int | None) -> None:
        """Make pool member ``index`` the best if it ranks above ``best`` and passes (or needs no) guard check."""
        candidate = state.candidates[index]
        score = state.mean_scores()[index]
        previous = None if best is None else state.mean_scores()[best]
        if best is not None and self.rank(state, index) <= self.rank(state, best):
            return
        if constant := self._constant_answer(state, candidate, {"validation": self.val}):
            self._flag_constant(state, candidate, constant)
            return
        if (gain := self._within_noise(state, index)) is not None:
            state.within_noise[candidate.id] = gain.to_dict()
            state.bump("within_noise")
            self._emit(
                "within_noise",
                state,
                WithinNoisePayload(
                    candidate=candidate.id,
                    score=score,
                    mean=gain.mean,
                    low=gain.low,
                    high=gain.high,
                    level=gain.level,
                    n=gain.n,
                    better=gain.better,
                    worse=gain.worse,
                ),
            )
            return
        if not self.guard_fits(state):
            # Promoting it unchecked would defeat the guard; paying for the check would pass the budget.
            budget = self.config.max_metric_calls or 0
            state.guard_unpaid.append(candidate.id)
            state.bump("guard_unpaid")
            self._emit(
                "guard_unpaid",
                state,
                GuardUnpaidPayload(
                    candidate=candidate.id, score=score, calls=self.guard_calls, remaining=budget - state.metric_calls
                ),
            )
            return
        fell = self._guard(state, candidate)
        if fell:
            state.guard_failed.append(candidate.id)
            state.bump("guard_failed")
            seed_guard = state.guard_scores[state.candidates[0].id]
            self._emit(
                "guard_failed",
                state,
                GuardFailedPayload(
                    candidate=candidate.id,
                    score=score,
                    sets=fell,
                    guard=state.guard_scores[candidate.id],
                    seed_guard=seed_guard,
                    tolerance=self.config.guard_tolerance,
                ),
            )
            return
        if constant := self._constant_answer(state, candidate, self.guard):
            self._flag_constant(state, candidate, constant)
            return
        state.best_id = candidate.id
        self._emit(
            "new_best",
            state,
            NewBestPayload(
                candidate=candidate.id,
                score=score,
                previous=previous,
                objectives=state.objective_means(index),
                guard=state.guard_scores.get(candidate.id, {}),
            ),
        )

    def check_unpaid(self, state: RunState) -> bool:
        """On resume with a larger budget, run the guard checks the last budget could not pay (the best-ranked
        first, so a check is not paid for a candidate the next one beats). Whether it checked any."""
        if not state.guard_unpaid or not self.guard_fits(state):
            return False
        waiting = sorted(state.guard_unpaid, key=lambda cid: self.rank(state, state.index_of(cid)), reverse=True)
        state.guard_unpaid = []
        for candidate_id in waiting:
            self.consider(state, state.index_of(candidate_id), state.best_index())
        if state.best_id in waiting:
            state.stale_iterations = 0  # a new best, though no iteration ran
        return True

    def _within_noise(self, state: RunState, index: int) -> PairedDifference | None:
        """The paired validation gain of pool member ``index`` over the seed when its interval does not lie above
        0 (None when it does, for the seed, under a select rule, or with the rule off)."""
        level = self.config.best_gain_level
        if level is None or index == 0 or self.config.select is not None:
            return None
        mine, seed = state.val_scores[index], state.val_scores[0]  # every validation example, in order
        if not mine or len(mine) != len(seed):
            return None
        gain = paired_difference(mine, seed, level=level, seed=self.config.seed)
        return None if gain.low > 0 else gain

    def _constant_answer(
        self, state: RunState, candidate: Candidate, splits: Mapping[str, Sequence[Example]]
    ) -> ConstantAnswer | None:
        """The first of ``splits`` on which a would-be best (never the seed) answers one thing to everything."""
        if candidate.id == state.candidates[0].id:
            return None
        scored = state.rollouts.get(candidate.id, {})
        for split, examples in splits.items():
            rollouts = [scored[e.id] for e in examples if e.id in scored]
            if len(rollouts) == len(examples) and (found := constant_answer(rollouts, split)):
                return found
        return None

    def _flag_constant(self, state: RunState, candidate: Candidate, constant: ConstantAnswer) -> None:
        state.constant_answers[candidate.id] = constant.to_dict()
        state.bump("constant_answer")
        self._emit(
            "constant_answer",
            state,
            ConstantAnswerPayload(
                candidate=candidate.id,
                split=constant.split,
                answer=constant.answer,
                count=constant.count,
                total=constant.total,
                score=constant.score,
                label_rate=constant.label_rate,
                majority=constant.majority,
                majority_rate=constant.majority_rate,
                line=constant.line(),
            ),
        )

    def _guard(self, state: RunState, candidate: Candidate) -> list[str]:
        """Score ``candidate`` on every guard set; the sets it falls on, more than the tolerance below the seed."""
        if not self.guard:
            return []
        scores = {
            name: sum(r.score for r in self._evaluate(state, candidate, examples)) / len(examples)
            for name, examples in self.guard.items()
        }
        state.guard_scores[candidate.id] = scores
        seed = state.guard_scores[state.candidates[0].id]
        return [name for name, value in scores.items() if value < seed[name] - self.config.guard_tolerance - 1e-12]
