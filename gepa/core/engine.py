"""The GEPA loop: select a parent from the Pareto front, reflect on a minibatch, accept or reject, merge.

No I/O and no printing: progress leaves as events, persistence through the ``checkpoint`` hook, and every
random choice comes from one ``random.Random`` whose state is saved with the run.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from gepa.core.admission import Admission, Rejection
from gepa.core.answers import balanced_values
from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.deadline import Clock, OutOfTime
from gepa.core.events import (
    UNRECORDED,
    BudgetPayload,
    Callback,
    CandidateAcceptedPayload,
    Event,
    EventKind,
    IterationStartedPayload,
    MergePayload,
    MinibatchRejectionPayload,
    MinibatchSkippedPayload,
    Payload,
    ProposalRejectedPayload,
    ProposalRepairedPayload,
    RolloutScoredPayload,
    RunFinishedPayload,
    RunStartedPayload,
    SubsetRejectionPayload,
)
from gepa.core.executors import RolloutExecutor, Rollouts
from gepa.core.leakage import LeakageCheck
from gepa.core.merge import MergePlan, plan_merge
from gepa.core.objectives import finite, mean_objectives, objective_rows
from gepa.core.policies import Policies, next_minibatch
from gepa.core.promotion import Promotion
from gepa.core.sampling import score_pairs
from gepa.core.seed_check import seed_failure
from gepa.core.state import RunState
from gepa.core.stopping import STOP_REQUESTED, RunShape, stop_reason
from gepa.core.types import Evaluator, Example, Proposer, Rollout, System
from gepa.errors import ModelUnreachableError, UserError


class Optimizer:
    """Runs GEPA over injected parts. ``run`` returns the final ``RunState``; pass a saved one to resume.

    ``guardsets`` are scored for the seed and for every candidate that would become the best; one that falls
    more than ``guard_tolerance`` below the seed on any of them stays in the pool but is never the best.

    ``record`` receives every event and may stop the run by raising (the run log); ``callbacks`` may not.
    ``executor`` runs the rollouts instead of the one ``config.executor`` names (Ray, built outside the core);
    it is closed when the run ends. ``policies`` replace the ones the config names (``Policies.named``).
    """

    def __init__(
        self,
        *,
        system: System,
        evaluator: Evaluator,
        proposer: Proposer,
        trainset: Sequence[Example],
        valset: Sequence[Example],
        config: OptimizerConfig,
        guardsets: Mapping[str, Sequence[Example]] | None = None,
        callbacks: Sequence[Callback] = (),
        record: Callback | None = None,
        spent_usd: Callable[[], float] = lambda: 0.0,
        should_stop: Callable[[], bool] = lambda: False,
        checkpoint: Callable[[RunState], None] = lambda state: None,
        executor: RolloutExecutor | None = None,
        policies: Policies | None = None,
    ) -> None:
        if not trainset or not valset:
            raise UserError("the train and validation sets must each hold at least one example")
        self.system, self.evaluator, self.proposer = system, evaluator, proposer
        self.train, self.val, self.config = list(trainset), list(valset), config
        self.guard = {name: list(examples) for name, examples in (guardsets or {}).items()}
        self.admission = Admission(proposer, LeakageCheck(self.train), config.proposal_attempts)
        self.promotion = Promotion(config, self.val, self.guard, self._evaluate, self._emit)
        self.callbacks, self.record, self.spent_usd = list(callbacks), record, spent_usd
        self.should_stop, self.checkpoint = should_stop, checkpoint
        self.policies = policies or Policies.named(config)
        self._pool: ThreadPoolExecutor | None = None  # proposals
        self._rollouts: RolloutExecutor | None = None
        self._given_executor = executor  # closed when the run ends
        self._components_per_proposal = 1
        self._clock = Clock()  # max_seconds inside an iteration

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, seed: Candidate, state: RunState | None = None) -> RunState:
        state = state if state is not None else RunState()
        rng = random.Random(self.config.seed)
        if state.rng_state is not None:
            rng.setstate(state.rng_state)
        started = time.monotonic()
        optimizable = self._optimizable(seed)
        self._components_per_proposal = self.policies.components.per_proposal(optimizable)
        with (
            ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as self._pool,
            Rollouts(
                self.config.executor,
                self.config.concurrency,
                self.system,
                self._given_executor,
                self.config.rollout_timeout,
            ) as self._rollouts,
        ):
            if not state.candidates:
                self._start(state, seed)
                state.rng_state = rng.getstate()
                self.checkpoint(state)
            elif self.promotion.check_unpaid(state):
                self.checkpoint(state)
            self._clock.arm(started, self.config.max_seconds)  # the seed is always scored whole
            while not state.finished:
                reason = self._stop_reason(state, started)
                if reason:
                    # A requested stop leaves the run resumable; a spent budget or a limit ends it.
                    state.finished, state.stop_reason = reason != STOP_REQUESTED, reason
                    break
                state.iteration += 1
                spent_before, best_before = state.metric_calls, state.best_id
                try:
                    self._iterate(state, rng, optimizable)
                except OutOfTime:  # the check above ends the run; a resumed run does this iteration again
                    state.iteration -= 1
                    continue
                # Patience and idleness, from what the iteration did: found a new best, paid for a rollout.
                state.stale_iterations = 0 if state.best_id != best_before else state.stale_iterations + 1
                state.idle_iterations = 0 if state.metric_calls > spent_before else state.idle_iterations + 1
                state.rng_state = rng.getstate()
                self._emit("budget", state, BudgetPayload(metric_calls=state.metric_calls, cost_usd=self.spent_usd()))
                self.checkpoint(state)
        best = state.best_index()
        self._emit(
            "run_finished",
            state,
            RunFinishedPayload(
                reason=state.stop_reason, best=state.candidates[best].id, best_score=state.mean_scores()[best]
            ),
        )
        self.checkpoint(state)
        return state

    def _optimizable(self, seed: Candidate) -> list[str]:
        names = list(self.config.optimize or seed.components)
        unknown = [n for n in names if n not in seed.components]
        if unknown:
            raise UserError(f"cannot optimize {unknown!r}: the prompt has components {list(seed.components)!r}")
        return names

    def _start(self, state: RunState, seed: Candidate) -> None:
        if problem := self.config.seed_budget_problem(len(self.val), self.promotion.guard_calls):
            raise UserError(problem)
        self._emit("run_started", state, RunStartedPayload(seed=seed.id, train=len(self.train), val=len(self.val)))
        scored = self._evaluate(state, seed, self.val)
        if failure := seed_failure(scored):
            raise failure
        measured = {name for r in scored for name in r.objectives} | {"score"}
        if balanced_values(scored) is not None:
            measured.add("balanced")
        unknown = sorted(self.config.objective_names() - measured)
        if unknown and not all(r.error for r in scored):
            raise UserError(
                f"objective {unknown[0]!r} is not measured; the seed's rollouts measure {', '.join(sorted(measured))}"
            )
        self._add(state, seed, scored)

    def _stop_reason(self, state: RunState, started: float) -> str:
        shape = RunShape(
            train=len(self.train),
            val=len(self.val),
            guard_calls=self.promotion.guard_calls,
            components_per_proposal=self._components_per_proposal,
        )
        return stop_reason(
            self.config,
            shape,
            state,
            stop_requested=self.should_stop(),
            elapsed_s=time.monotonic() - started,
            spent_usd=self.spent_usd(),
            guard_fits=self.promotion.guard_fits(state),
        )

    def _iterate(self, state: RunState, rng: random.Random, optimizable: list[str]) -> None:
        if self.config.merge and state.merges_due > 0:
            state.merges_due -= 1
            plan = plan_merge(state, rng, np.flatnonzero(self._front(state)).tolist())
            if plan is not None:
                self._merge(state, plan, rng)
                return
        parent = state.candidates[self.policies.selector.select(state, rng)]
        batch = [self.train[i] for i in next_minibatch(state, len(self.train), self.config.minibatch_size, rng)]
        self._emit(
            "iteration_started", state, IterationStartedPayload(parent=parent.id, minibatch=[e.id for e in batch])
        )
        parent_rollouts = self._evaluate(state, parent, batch)
        if self.config.skip_perfect and all(r.score >= self.config.perfect_score for r in parent_rollouts):
            self._emit("minibatch_skipped", state, MinibatchSkippedPayload(parent=parent.id))
            state.bump("skipped")
            return
        children = self._propose(state, parent, optimizable, list(zip(batch, parent_rollouts, strict=True)), rng)
        if not children:
            return
        scored = self._evaluate_many(state, children, batch)
        before = sum(r.score for r in parent_rollouts)
        totals = [sum(r.score for r in rollouts) for rollouts in scored]
        ranks = [self.config.rank(mean_objectives(rollouts)) for rollouts in scored]
        winner = max(range(len(children)), key=lambda i: (ranks[i], -i))  # the first on ties
        for i, child in enumerate(children):
            if i != winner:
                state.bump("outscored")
                self._emit(
                    "candidate_rejected",
                    state,
                    MinibatchRejectionPayload(
                        parent=parent.id,
                        child=child.id,
                        origin=child.origin,
                        reason="outscored",
                        parent_minibatch=before,
                        child_minibatch=totals[i],
                        components=_changed(parent, child),
                    ),
                )
        child, after = children[winner], totals[winner]
        parent_rank = self.config.rank(mean_objectives(parent_rollouts))
        if not self.policies.acceptance.accepts(ranks[winner], parent_rank):
            state.bump("rejected")
            # Under a select rule the rank decided, not the score sums: the event says so.
            rejected = MinibatchRejectionPayload(
                parent=parent.id,
                child=child.id,
                origin=child.origin,
                reason="not better",
                parent_minibatch=before,
                child_minibatch=after,
                components=_changed(parent, child),
            )
            if self.config.select:
                rejected["select_rank"] = [finite(ranks[winner]), finite(parent_rank)]
            self._emit("candidate_rejected", state, rejected)
            return
        state.bump("accepted")
        self._emit(
            "candidate_accepted",
            state,
            CandidateAcceptedPayload(
                parent=parent.id,
                child=child.id,
                origin=child.origin,
                parent_minibatch=before,
                child_minibatch=after,
                components=_changed(parent, child),
                feedback=[r.feedback for r in parent_rollouts if r.score < self.config.perfect_score],
            ),
        )
        if not self._validate(state, child, rng):
            return
        if self.config.merge and state.merges_done + state.merges_due < self.config.max_merges:
            state.merges_due += 1

    # -- proposals --------------------------------------------------------------------------------
    def _propose(
        self,
        state: RunState,
        parent: Candidate,
        optimizable: list[str],
        evidence: list[tuple[Example, Rollout]],
        rng: random.Random,
    ) -> list[Candidate]:
        """Up to ``proposals_per_iteration`` new, distinct, well-formed children, asked for concurrently.

        Each slot draws its sample numbers from ``rng`` before any thread starts, so the same seed gives the
        same proposals whatever order the threads finish in.
        """
        names = self.policies.components.choose(state, parent.id, optimizable)
        samples = [rng.getrandbits(31) for _ in range(self.config.proposals_per_iteration)]
        known = frozenset(c.id for c in state.candidates)
        assert self._pool is not None
        outcomes = list(
            self._pool.map(lambda sample: self.admission.slot(parent, names, evidence, sample, known), samples)
        )
        children: list[Candidate] = []
        for slot, outcome in enumerate(outcomes):
            state.bump("reflection_calls", outcome.calls)
            state.bump("proposals_asked", outcome.asked)
            for problem in outcome.repairs:
                state.bump("repaired")
                self._emit(
                    "proposal_repaired", state, ProposalRepairedPayload(parent=parent.id, slot=slot, problem=problem)
                )
            for rejection in outcome.rejections:
                self._reject(state, parent, slot, rejection)
            child = outcome.child
            if child is None:
                continue
            if any(child.id == other.id for other in children):
                self._reject(
                    state, parent, slot, Rejection(names[0], "duplicate", f"same as another proposal ({child.id})")
                )
                continue
            state.bump("proposals")
            children.append(child)
        return children

    def _reject(self, state: RunState, parent: Candidate, slot: int, rejection: Rejection) -> None:
        state.bump(rejection.counter)
        self._emit(
            "proposal_rejected",
            state,
            ProposalRejectedPayload(
                parent=parent.id,
                slot=slot,
                component=rejection.component,
                reason=rejection.reason,
                detail=rejection.detail,
                text=rejection.text,
            ),
        )

    def _merge(self, state: RunState, plan: MergePlan, rng: random.Random) -> None:
        first, second = state.candidates[plan.first], state.candidates[plan.second]
        state.merges_done += 1
        state.merge_attempts.append(sorted((first.id, second.id)))
        picks = sorted(rng.sample(range(len(self.val)), min(self.config.merge_subsample, len(self.val))))
        sub = self._evaluate(state, plan.child, [self.val[i] for i in picks])
        merged = sum(r.score for r in sub)
        best_parent = max(sum(state.val_scores[p][i] for i in picks) for p in (plan.first, plan.second))
        details = MergePayload(
            first=first.id,
            second=second.id,
            child=plan.child.id,
            ancestor=state.candidates[plan.ancestor].id,
            subsample=merged,
            best_parent_subsample=best_parent,
        )
        if merged < best_parent:
            state.bump("merges_rejected")
            self._emit("merge_rejected", state, details)
            return
        state.bump("merges_accepted")
        self._emit("merge_accepted", state, details)
        self._add(state, plan.child, self._evaluate(state, plan.child, self.val))

    # -- validation -------------------------------------------------------------------------------
    def _validate(self, state: RunState, child: Candidate, rng: random.Random) -> bool:
        """Score an accepted child on the validation set and add it to the pool. When the validation policy
        samples first, a child that could neither join the front nor become the best on the sample stays out,
        which spares the rest of the set. Every member of the pool is scored on the whole set, so the front and
        the best are exact among them."""
        picks = self.policies.validation.first_sample(len(self.val), rng)
        if picks is None:
            self._add(state, child, self._evaluate(state, child, self.val))
            return True
        sample = self._evaluate(state, child, [self.val[i] for i in picks])
        if not self._could_matter(state, sample, picks):
            state.bump("subset_rejected")
            self._emit(
                "candidate_rejected",
                state,
                SubsetRejectionPayload(
                    child=child.id,
                    origin=child.origin,
                    reason="validation subset",
                    subset=len(picks),
                    child_subset=sum(r.score for r in sample),
                    best_subset=sum(state.val_scores[state.best_index()][i] for i in picks),
                ),
            )
            return False
        self._add(state, child, self._evaluate(state, child, self.val))
        return True

    def _could_matter(self, state: RunState, sample: list[Rollout], picks: list[int]) -> bool:
        """Whether the child, on the sampled examples, ranks at least as high as the best does there, or beats
        every member on some example for some front objective."""
        child = mean_objectives(sample)
        if self.config.rank(child) >= self.config.rank(state.objective_means(state.best_index(), picks)):
            return True
        for objective in self.config.front_objectives():
            unmeasured = 0.0 if objective.direction == "max" else math.inf  # a failure is never the cheapest
            values = np.array(
                [
                    objective.oriented(
                        r.score if objective.name == "score" else r.objectives.get(objective.name, unmeasured)
                    )
                    for r in sample
                ]
            )
            if np.any(values > state.objective_matrix(objective)[:, picks].max(axis=0) + 1e-12):
                return True
        return False

    # -- bookkeeping ------------------------------------------------------------------------------
    def _add(self, state: RunState, candidate: Candidate, val_rollouts: list[Rollout]) -> None:
        """Put a scored candidate in the pool; make it the best if it ranks above the best and passes the guard."""
        best = state.best_index() if state.candidates else None
        state.candidates.append(candidate)
        state.val_scores.append([r.score for r in val_rollouts])
        state.val_objectives.append(objective_rows(self.config, state, val_rollouts))
        state.found_at.append(
            {"iteration": state.iteration, "metric_calls": state.metric_calls, "cost_usd": self.spent_usd()}
        )
        self.promotion.consider(state, len(state.candidates) - 1, best)

    def _front(self, state: RunState) -> NDArray[np.int64]:
        """Front weights over every (objective, validation example): best somewhere for some objective."""
        return state.front_weights(self.config.front_objectives())

    def _evaluate(self, state: RunState, candidate: Candidate, examples: Sequence[Example]) -> list[Rollout]:
        """Rollouts of ``candidate`` on ``examples`` in order; a pair already scored is never paid again."""
        return self._evaluate_many(state, [candidate], examples)[0]

    def _evaluate_many(
        self, state: RunState, candidates: Sequence[Candidate], examples: Sequence[Example]
    ) -> list[list[Rollout]]:
        """``_evaluate`` for several candidates at once, so all their rollouts share the pool."""
        assert self._rollouts is not None
        todo = [(c, e) for c in candidates for e in examples if e.id not in state.rollouts.get(c.id, {})]

        def scored(_: int, result: Rollout) -> None:
            self._emit("rollout_scored", state, RolloutScoredPayload(example=result.example_id, score=result.score))

        samples = self.config.samples_per_example
        results = [
            r
            for group in self._clock.groups(todo, self.config.concurrency)
            for r in score_pairs(self._rollouts, self.system, self.evaluator, group, samples, scored)
        ]
        if "latency_s" not in self.config.objective_names():  # not repeatable: kept only when asked for
            results = [
                replace(r, objectives={k: v for k, v in r.objectives.items() if k != "latency_s"}) for r in results
            ]
        if results and all(r.error_source == "unreachable" for r in results):
            raise ModelUnreachableError(
                f"{results[0].error} (every call of the batch failed after its retries; "
                "the run stops, and resumes from its saved state)"
            )
        for (candidate, _), result in zip(todo, results, strict=True):
            state.add_rollout(candidate.id, result)
        state.metric_calls += len(todo)
        return [[state.rollouts[c.id][e.id] for e in examples] for c in candidates]

    def _emit(self, kind: EventKind, state: RunState, data: Payload) -> None:
        """Record the event (a failure there stops the run: the record of a paid run may not be lost), then
        show it to the callbacks (a failing display must not stop a paid run)."""
        event = Event(kind=kind, iteration=state.iteration, data=data)
        if self.record is not None and kind not in UNRECORDED:
            self.record(event)
        for callback in self.callbacks:
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - a broken display must not kill a paid run
                pass


def _changed(parent: Candidate, child: Candidate) -> dict[str, str]:
    return {n: child[n] for n in child.components if child[n] != parent[n]}
