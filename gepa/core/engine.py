"""The GEPA loop: select a parent from the Pareto front, reflect on a minibatch, accept or reject, merge.

No I/O and no printing: progress leaves as events, persistence through the ``checkpoint`` hook, and every
random choice comes from one ``random.Random`` whose state is saved with the run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gepa.core import events as ev
from gepa.core.admission import Admission
from gepa.core.answers import balanced_values
from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.deadline import Clock, OutOfTime
from gepa.core.emitter import Emitter
from gepa.core.executors import RolloutExecutor, Rollouts
from gepa.core.leakage import LeakageCheck
from gepa.core.merge import MergePlan, plan_merge
from gepa.core.minibatch import MinibatchTest
from gepa.core.objectives import could_matter, objective_rows
from gepa.core.policies import Policies, next_minibatch
from gepa.core.promotion import Promotion
from gepa.core.scoring import Scorer
from gepa.core.seed_check import seed_failure
from gepa.core.state import RunState
from gepa.core.stopping import STOP_REQUESTED, RunShape, stop_reason
from gepa.core.types import Evaluator, Example, Proposer, Rollout, System
from gepa.errors import UserError


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
        callbacks: Sequence[ev.Callback] = (),
        record: ev.Callback | None = None,
        spent_usd: Callable[[], float] = lambda: 0.0,
        should_stop: Callable[[], bool] = lambda: False,
        checkpoint: Callable[[RunState], None] = lambda state: None,
        executor: RolloutExecutor | None = None,
        policies: Policies | None = None,
    ) -> None:
        if not trainset or not valset:
            raise UserError("the train and validation sets must each hold at least one example")
        self.system = system
        self.train, self.val, self.config = list(trainset), list(valset), config
        self.guard = {name: list(examples) for name, examples in (guardsets or {}).items()}
        self._emit = Emitter(record, callbacks)
        self._clock = Clock()  # max_seconds inside an iteration
        self.scorer = Scorer(system, evaluator, config, self._clock, self._emit)
        self.admission = Admission(proposer, LeakageCheck(self.train), config.proposal_attempts, self._emit)
        self.promotion = Promotion(config, self.val, self.guard, self._evaluate, self._emit)
        self.spent_usd, self.should_stop, self.checkpoint = spent_usd, should_stop, checkpoint
        self.policies = policies or Policies.named(config)
        self.minibatch = MinibatchTest(config, self.policies.acceptance, self._emit)
        self._pool: ThreadPoolExecutor | None = None  # proposals
        self._rollouts: RolloutExecutor | None = None
        self._given_executor = executor  # closed when the run ends
        self._components_per_proposal = 1

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
                self._emit(
                    "budget", state, ev.BudgetPayload(metric_calls=state.metric_calls, cost_usd=self.spent_usd())
                )
                self.checkpoint(state)
        best = state.best_index()
        self._emit(
            "run_finished",
            state,
            ev.RunFinishedPayload(
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
        self._emit("run_started", state, ev.RunStartedPayload(seed=seed.id, train=len(self.train), val=len(self.val)))
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
            plan = plan_merge(state, rng, np.flatnonzero(state.front_weights(self.config.front_objectives())).tolist())
            if plan is not None:
                self._merge(state, plan, rng)
                return
        parent = state.candidates[self.policies.selector.select(state, rng)]
        batch = [self.train[i] for i in next_minibatch(state, len(self.train), self.config.minibatch_size, rng)]
        self._emit(
            "iteration_started", state, ev.IterationStartedPayload(parent=parent.id, minibatch=[e.id for e in batch])
        )
        parent_rollouts = self._evaluate(state, parent, batch)
        if self.config.skip_perfect and all(r.score >= self.config.perfect_score for r in parent_rollouts):
            self._emit("minibatch_skipped", state, ev.MinibatchSkippedPayload(parent=parent.id))
            state.bump("skipped")
            return
        children = self._propose(state, parent, optimizable, list(zip(batch, parent_rollouts, strict=True)), rng)
        if not children:
            return
        child = self.minibatch.winner(
            state, parent, parent_rollouts, children, self._evaluate_many(state, children, batch)
        )
        if child is None:
            return
        if not self._validate(state, child, rng):
            return
        if self.config.merge and state.merges_done + state.merges_due < self.config.max_merges:
            state.merges_due += 1

    # -- proposals and merges -------------------------------------------------------------------
    def _propose(
        self,
        state: RunState,
        parent: Candidate,
        optimizable: list[str],
        evidence: list[tuple[Example, Rollout]],
        rng: random.Random,
    ) -> list[Candidate]:
        """Up to ``proposals_per_iteration`` new, distinct, well-formed children, asked for concurrently."""
        names = self.policies.components.choose(state, parent.id, optimizable)
        assert self._pool is not None
        slots = self.config.proposals_per_iteration
        return self.admission.children(state, parent, names, evidence, slots, rng, self._pool.map)

    def _merge(self, state: RunState, plan: MergePlan, rng: random.Random) -> None:
        first, second = state.candidates[plan.first], state.candidates[plan.second]
        state.merges_done += 1
        state.merge_attempts.append(sorted((first.id, second.id)))
        picks = sorted(rng.sample(range(len(self.val)), min(self.config.merge_subsample, len(self.val))))
        sub = self._evaluate(state, plan.child, [self.val[i] for i in picks])
        merged = sum(r.score for r in sub)
        best_parent = max(sum(state.val_scores[p][i] for i in picks) for p in (plan.first, plan.second))
        details = ev.MergePayload(
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
        if not could_matter(self.config, state, sample, picks):
            state.bump("subset_rejected")
            self._emit(
                "candidate_rejected",
                state,
                ev.SubsetRejectionPayload(
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

    def _evaluate(self, state: RunState, candidate: Candidate, examples: Sequence[Example]) -> list[Rollout]:
        """Rollouts of ``candidate`` on ``examples`` in order; a pair already scored is never paid again."""
        return self._evaluate_many(state, [candidate], examples)[0]

    def _evaluate_many(
        self, state: RunState, candidates: Sequence[Candidate], examples: Sequence[Example]
    ) -> list[list[Rollout]]:
        """``_evaluate`` for several candidates at once, so all their rollouts share the pool."""
        assert self._rollouts is not None
        return self.scorer.score(state, self._rollouts, candidates, examples)
