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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gepa.core.answers import ConstantAnswer, balanced_values, constant_answer
from gepa.core.candidate import Candidate, placeholders
from gepa.core.config import COST_OBJECTIVES, OptimizerConfig
from gepa.core.deadline import Clock, OutOfTime
from gepa.core.events import Callback, Event, EventKind
from gepa.core.executors import RolloutExecutor, Rollouts
from gepa.core.leakage import LeakageCheck
from gepa.core.merge import MergePlan, plan_merge
from gepa.core.seed_check import seed_failure
from gepa.core.state import RunState
from gepa.core.strategies import components_to_update, make_selector, next_minibatch
from gepa.core.types import Evaluator, Example, Proposer, Repairs, Rollout, System
from gepa.errors import ModelUnreachableError, SystemicModelError, UserError, redact_secrets

STOP_REQUESTED = "stop requested"


def placeholder_problem(before: str, after: str) -> str | None:
    """Why ``after`` may not replace ``before``: a placeholder dropped, renamed or invented; else None."""
    old, new = set(placeholders(before)), set(placeholders(after))
    if old == new:
        return None
    parts = []
    if old - new:
        parts.append("dropped " + ", ".join(f"{{{{{p}}}}}" for p in sorted(old - new)))
    if new - old:
        parts.append("invented " + ", ".join(f"{{{{{p}}}}}" for p in sorted(new - old)))
    return "; ".join(parts)


@dataclass
class ProposalOutcome:
    """What one proposal slot did; applied to the state in slot order, so threads never race on it."""

    child: Candidate | None = None
    calls: int = 0
    asked: int = 0
    repairs: list[str] = field(default_factory=list)
    rejections: list[dict[str, str]] = field(default_factory=list)


class Optimizer:
    """Runs GEPA over injected parts. ``run`` returns the final ``RunState``; pass a saved one to resume.

    ``guardsets`` are scored for the seed and for every candidate that would become the best; one that falls
    more than ``guard_tolerance`` below the seed on any of them stays in the pool but is never the best.

    ``record`` receives every event and may stop the run by raising (the run log); ``callbacks`` may not.
    ``executor`` runs the rollouts instead of the one ``config.executor`` names (Ray, built outside the core);
    it is closed when the run ends.
    """

    def __init__(self, *, system: System, evaluator: Evaluator, proposer: Proposer,
                 trainset: Sequence[Example], valset: Sequence[Example], config: OptimizerConfig,
                 guardsets: Mapping[str, Sequence[Example]] | None = None,
                 callbacks: Sequence[Callback] = (), record: Callback | None = None,
                 spent_usd: Callable[[], float] = lambda: 0.0,
                 should_stop: Callable[[], bool] = lambda: False,
                 checkpoint: Callable[[RunState], None] = lambda state: None,
                 executor: RolloutExecutor | None = None) -> None:
        if not trainset or not valset:
            raise UserError("the train and validation sets must each hold at least one example")
        self.system, self.evaluator, self.proposer = system, evaluator, proposer
        self.train, self.val, self.config = list(trainset), list(valset), config
        self.guard = {name: list(examples) for name, examples in (guardsets or {}).items()}
        self._guard_calls = sum(len(examples) for examples in self.guard.values())
        self.leakage = LeakageCheck(self.train)
        self.callbacks, self.record, self.spent_usd = list(callbacks), record, spent_usd
        self.should_stop, self.checkpoint = should_stop, checkpoint
        self.select_parent = make_selector(config)
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
        self._components_per_proposal = len(optimizable) if self.config.component_selection == "all" else 1
        with (ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as self._pool,
              Rollouts(self.config.executor, self.config.concurrency, self.system,
                       self._given_executor, self.config.rollout_timeout) as self._rollouts):
            if not state.candidates:
                self._start(state, seed)
                state.rng_state = rng.getstate()
                self.checkpoint(state)
            else:
                self._check_unpaid(state)
            self._clock.arm(started, self.config.max_seconds)  # the seed is always scored whole
            while not state.finished:
                reason = self._stop_reason(state, started)
                if reason:
                    # A requested stop leaves the run resumable; a spent budget or a limit ends it.
                    state.finished, state.stop_reason = reason != STOP_REQUESTED, reason
                    break
                state.iteration += 1
                spent_before = state.metric_calls
                try:
                    self._iterate(state, rng, optimizable)
                except OutOfTime:  # the check above ends the run; a resumed run does this iteration again
                    state.iteration -= 1
                    continue
                state.idle_iterations = 0 if state.metric_calls > spent_before else state.idle_iterations + 1
                state.rng_state = rng.getstate()
                self._emit("budget", state, metric_calls=state.metric_calls, cost_usd=self.spent_usd())
                self.checkpoint(state)
        best = state.best_index()
        self._emit("run_finished", state, reason=state.stop_reason, best=state.candidates[best].id,
                   best_score=state.mean_scores()[best])
        self.checkpoint(state)
        return state

    def _optimizable(self, seed: Candidate) -> list[str]:
        names = list(self.config.optimize or seed.components)
        unknown = [n for n in names if n not in seed.components]
        if unknown:
            raise UserError(f"cannot optimize {unknown!r}: the prompt has components {list(seed.components)!r}")
        return names

    def _start(self, state: RunState, seed: Candidate) -> None:
        if problem := self.config.seed_budget_problem(len(self.val), self._guard_calls):
            raise UserError(problem)
        self._emit("run_started", state, seed=seed.id, train=len(self.train), val=len(self.val))
        scored = self._evaluate(state, seed, self.val)
        if failure := seed_failure(scored):
            raise failure
        measured = {name for r in scored for name in r.objectives} | {"score"}
        if balanced_values(scored) is not None:
            measured.add("balanced")
        unknown = sorted(self.config.objective_names() - measured)
        if unknown and not all(r.error for r in scored):
            raise UserError(f"objective {unknown[0]!r} is not measured; the seed's rollouts measure "
                            f"{', '.join(sorted(measured))}")
        self._add(state, seed, scored)

    def _stop_reason(self, state: RunState, started: float) -> str:
        c = self.config
        if self.should_stop():
            return STOP_REQUESTED
        if c.max_iterations is not None and state.iteration >= c.max_iterations:
            return f"max_iterations ({c.max_iterations}) reached"
        if c.max_seconds is not None and time.monotonic() - started >= c.max_seconds:
            return f"max_seconds ({c.max_seconds:g}) reached"
        if c.max_cost_usd is not None and self.spent_usd() >= c.max_cost_usd:
            return f"max_cost_usd ({c.max_cost_usd:g}) reached"
        if state.idle_iterations >= c.max_idle_iterations:
            return f"nothing new to evaluate in {c.max_idle_iterations} iterations ({_idle_cause(state.counts)})"
        if c.patience is not None and state.stale_iterations >= c.patience:
            return f"no improvement in {c.patience} iterations"
        if c.max_metric_calls is not None:
            if not self._guard_fits(state):
                return (f"max_metric_calls ({c.max_metric_calls}) reached: a new best could no longer be checked on "
                        f"the guard sets ({self._guard_calls} calls)")
            minibatches = 1 + c.proposals_per_iteration
            # A validation subset is part of the validation set: it never adds to the worst case. The guard sets
            # do not either: they are paid only for a would-be best, and only if they still fit (see _add).
            worst_case = max(minibatches * min(c.minibatch_size, len(self.train)), c.merge_subsample) + len(self.val)
            if state.metric_calls + worst_case > c.max_metric_calls:
                return f"max_metric_calls ({c.max_metric_calls}) reached: the next step could exceed it"
        limit = c.reflection_call_limit()
        if limit is not None:
            worst_case = c.proposals_per_iteration * c.proposal_attempts * self._components_per_proposal
            if state.counts.get("reflection_calls", 0) + worst_case > limit:
                return f"max_reflection_calls ({limit}) reached: the next step could exceed it"
        return ""

    def _iterate(self, state: RunState, rng: random.Random, optimizable: list[str]) -> None:
        if self.config.merge and state.merges_due > 0:
            state.merges_due -= 1
            plan = plan_merge(state, rng, np.flatnonzero(self._front(state)).tolist())
            if plan is not None:
                self._merge(state, plan, rng)
                return
        parent = state.candidates[self.select_parent(state, rng)]
        batch = [self.train[i] for i in next_minibatch(state, len(self.train), self.config.minibatch_size, rng)]
        self._emit("iteration_started", state, parent=parent.id, minibatch=[e.id for e in batch])
        parent_rollouts = self._evaluate(state, parent, batch)
        if self.config.skip_perfect and all(r.score >= self.config.perfect_score for r in parent_rollouts):
            self._emit("minibatch_skipped", state, parent=parent.id)
            state.bump("skipped")
            state.stale_iterations += 1
            return
        children = self._propose(state, parent, optimizable, list(zip(batch, parent_rollouts, strict=True)), rng)
        if not children:
            state.stale_iterations += 1
            return
        scored = self._evaluate_many(state, children, batch)
        before = sum(r.score for r in parent_rollouts)
        totals = [sum(r.score for r in rollouts) for rollouts in scored]
        ranks = [self.config.rank(mean_objectives(rollouts)) for rollouts in scored]
        winner = max(range(len(children)), key=lambda i: (ranks[i], -i))  # the first on ties
        for i, child in enumerate(children):
            if i != winner:
                state.bump("outscored")
                self._emit("candidate_rejected", state, parent=parent.id, child=child.id, origin=child.origin,
                           reason="outscored", parent_minibatch=before, child_minibatch=totals[i],
                           components=_changed(parent, child))
        child, after = children[winner], totals[winner]
        parent_rank = self.config.rank(mean_objectives(parent_rollouts))
        better = ranks[winner] > parent_rank if self.config.acceptance == "strict" else ranks[winner] >= parent_rank
        if not better:
            state.bump("rejected")
            state.stale_iterations += 1
            # Under a select rule the rank decided, not the score sums: the event says so.
            rule = {"select_rank": [_finite(ranks[winner]), _finite(parent_rank)]} if self.config.select else {}
            self._emit("candidate_rejected", state, parent=parent.id, child=child.id, origin=child.origin,
                       reason="not better", parent_minibatch=before, child_minibatch=after,
                       components=_changed(parent, child), **rule)
            return
        state.bump("accepted")
        self._emit("candidate_accepted", state, parent=parent.id, child=child.id, origin=child.origin,
                   parent_minibatch=before, child_minibatch=after, components=_changed(parent, child),
                   feedback=[r.feedback for r in parent_rollouts if r.score < self.config.perfect_score])
        if not self._validate(state, child, rng):
            return
        if self.config.merge and state.merges_done + state.merges_due < self.config.max_merges:
            state.merges_due += 1

    # -- proposals --------------------------------------------------------------------------------
    def _propose(self, state: RunState, parent: Candidate, optimizable: list[str],
                 evidence: list[tuple[Example, Rollout]], rng: random.Random) -> list[Candidate]:
        """Up to ``proposals_per_iteration`` new, distinct, well-formed children, asked for concurrently.

        Each slot draws its sample numbers from ``rng`` before any thread starts, so the same seed gives the
        same proposals whatever order the threads finish in.
        """
        names = components_to_update(state, parent.id, optimizable, self.config)
        samples = [rng.getrandbits(31) for _ in range(self.config.proposals_per_iteration)]
        known = frozenset(c.id for c in state.candidates)
        assert self._pool is not None
        outcomes = list(self._pool.map(lambda sample: self._proposal(parent, names, evidence, sample, known), samples))
        children: list[Candidate] = []
        for slot, outcome in enumerate(outcomes):
            state.counts["reflection_calls"] = state.counts.get("reflection_calls", 0) + outcome.calls
            state.counts["proposals_asked"] = state.counts.get("proposals_asked", 0) + outcome.asked
            for problem in outcome.repairs:
                state.bump("repaired")
                self._emit("proposal_repaired", state, parent=parent.id, slot=slot, problem=problem)
            for rejection in outcome.rejections:
                self._reject(state, parent, slot, **rejection)
            child = outcome.child
            if child is None:
                continue
            if any(child.id == other.id for other in children):
                self._reject(state, parent, slot, names[0], "duplicate", f"same as another proposal ({child.id})", "")
                continue
            state.bump("proposals")
            children.append(child)
        return children

    def _proposal(self, parent: Candidate, names: list[str], evidence: list[tuple[Example, Rollout]],
                  sample: int, known: frozenset[str]) -> ProposalOutcome:
        """One slot: a new text for each component in ``names``, within ``proposal_attempts`` calls each."""
        outcome = ProposalOutcome()
        components = dict(parent.components)
        for name in names:
            text = self._new_text(parent, name, evidence, sample, known if len(names) == 1 else frozenset(), outcome)
            if text is None:
                return outcome
            components[name] = text
        child = Candidate(components=components, parents=(parent.id,), origin="mutation:" + "+".join(names))
        if child.id in known:
            outcome.rejections.append(_rejection(names[0], "duplicate", f"already in the pool as {child.id}", ""))
            return outcome
        outcome.child = child
        return outcome

    def _new_text(self, parent: Candidate, name: str, evidence: list[tuple[Example, Rollout]], sample: int,
                  known: frozenset[str], outcome: ProposalOutcome) -> str | None:
        """Ask until a usable text comes back: sentences that copy a training input are cut out; a repeat of
        the current text, a placeholder break or a copy that cannot be cut gets one repair request that quotes it;
        a text still unusable, or a duplicate of a candidate already tried, is asked again with the examples
        rotated and another sample. None when the attempts run out."""
        limit, calls, attempt = self.config.proposal_attempts, 0, 0
        while calls < limit:
            shift = attempt % max(1, len(evidence))
            shown, number = evidence[shift:] + evidence[:shift], (sample + attempt) % 2**31
            attempt += 1
            calls += 1
            outcome.calls += 1
            outcome.asked += 1
            try:
                text = self.proposer.propose(parent, name, shown, sample=number)
                text = self._cut_copies(parent[name], text, outcome)
                problem = self._problem(parent[name], text)
                if problem and calls < limit and isinstance(self.proposer, Repairs):
                    calls += 1
                    outcome.calls += 1
                    fixed = self.proposer.repair(parent, name, shown, text, problem, sample=number)
                    if self._problem(parent[name], fixed) is None:
                        outcome.repairs.append(problem)
                        text, problem = fixed, None
                problem = placeholder_problem(parent[name], text)  # any other problem is a rejection reason below
            except SystemicModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed reflection costs one attempt
                detail = redact_secrets(f"{type(exc).__name__}: {exc}")
                outcome.rejections.append(_rejection(name, "reflection_error", detail, ""))
                continue
            if problem:
                outcome.rejections.append(_rejection(name, "placeholders", problem, text))
            elif text.strip() == parent[name].strip():
                outcome.rejections.append(_rejection(name, "unchanged", "the reflector returned the same text", text))
            elif Candidate(components={**parent.components, name: text}).id in known:
                outcome.rejections.append(_rejection(name, "duplicate", "already in the pool", text))
            elif leak := self.leakage.copied(text, parent[name]):
                outcome.rejections.append(_rejection(name, "leakage", f"copies a training example: '{leak}'", text))
            else:
                return text
        return None

    def _cut_copies(self, current: str, text: str, outcome: ProposalOutcome) -> str:
        """``text`` without its sentences that copy a training input, when what is left is still a usable text;
        otherwise ``text`` as it came (a repair request will quote the copy)."""
        leak = self.leakage.copied(text, current)
        if leak is None:
            return text
        cut = self.leakage.without_copies(text, current)
        if cut is None or self._problem(current, cut):  # a broken placeholder or the current text again
            return text
        outcome.repairs.append(f"copied a training example ('{leak}'): the copied sentences were cut")
        return cut

    def _problem(self, current: str, text: str) -> str | None:
        """What a repair request should quote: a placeholder break, a copied training example, a repeat."""
        if problem := placeholder_problem(current, text):
            return problem
        if leak := self.leakage.copied(text, current):
            return (f"copies a training example word for word ('{leak}'); describe the task in general terms "
                    f"instead of quoting an input")
        if text.strip() == current.strip():
            return "repeats the current text unchanged; write a different text that fixes the failures shown above"
        return None

    def _reject(self, state: RunState, parent: Candidate, slot: int, component: str, reason: str, detail: str,
                text: str) -> None:
        state.bump(f"proposal_{reason}")
        self._emit("proposal_rejected", state, parent=parent.id, slot=slot, component=component, reason=reason,
                   detail=detail, text=text)

    def _merge(self, state: RunState, plan: MergePlan, rng: random.Random) -> None:
        first, second = state.candidates[plan.first], state.candidates[plan.second]
        state.merges_done += 1
        state.merge_attempts.append(sorted((first.id, second.id)))
        picks = sorted(rng.sample(range(len(self.val)), min(self.config.merge_subsample, len(self.val))))
        sub = self._evaluate(state, plan.child, [self.val[i] for i in picks])
        merged = sum(r.score for r in sub)
        best_parent = max(sum(state.val_scores[p][i] for i in picks) for p in (plan.first, plan.second))
        details = {"first": first.id, "second": second.id, "child": plan.child.id,
                   "ancestor": state.candidates[plan.ancestor].id, "subsample": merged,
                   "best_parent_subsample": best_parent}
        if merged < best_parent:
            state.bump("merges_rejected")
            self._emit("merge_rejected", state, **details)
            return
        state.bump("merges_accepted")
        self._emit("merge_accepted", state, **details)
        self._add(state, plan.child, self._evaluate(state, plan.child, self.val))

    # -- validation -------------------------------------------------------------------------------
    def _validate(self, state: RunState, child: Candidate, rng: random.Random) -> bool:
        """Score an accepted child on the validation set and add it to the pool. Under ``validation: subset``
        a child is first scored on a random sample of the set; one that could neither join the front nor
        become the best stays out, which spares the rest of the set. Every member of the pool is scored on
        the whole set, so the front and the best are exact among them."""
        size = self.config.validation_subset
        if self.config.validation == "full" or size >= len(self.val):
            self._add(state, child, self._evaluate(state, child, self.val))
            return True
        picks = sorted(rng.sample(range(len(self.val)), size))
        sample = self._evaluate(state, child, [self.val[i] for i in picks])
        if not self._could_matter(state, sample, picks):
            state.bump("subset_rejected")
            state.stale_iterations += 1
            self._emit("candidate_rejected", state, child=child.id, origin=child.origin, reason="validation subset",
                       subset=len(picks), child_subset=sum(r.score for r in sample),
                       best_subset=sum(state.val_scores[state.best_index()][i] for i in picks))
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
            values = np.array([objective.oriented(r.score if objective.name == "score"
                                                  else r.objectives.get(objective.name, unmeasured)) for r in sample])
            if np.any(values > state.objective_matrix(objective)[:, picks].max(axis=0) + 1e-12):
                return True
        return False

    # -- bookkeeping ------------------------------------------------------------------------------
    def _add(self, state: RunState, candidate: Candidate, val_rollouts: list[Rollout]) -> None:
        """Put a scored candidate in the pool; make it the best if it ranks above the best and passes the guard."""
        best = state.best_index() if state.candidates else None
        state.candidates.append(candidate)
        state.val_scores.append([r.score for r in val_rollouts])
        state.val_objectives.append(self._objective_rows(state, val_rollouts))
        state.found_at.append({"iteration": state.iteration, "metric_calls": state.metric_calls,
                               "cost_usd": self.spent_usd()})
        self._promote(state, len(state.candidates) - 1, best)

    def _promote(self, state: RunState, index: int, best: int | None) -> None:
        """Make pool member ``index`` the best if it ranks above ``best`` and passes (or needs no) guard check."""
        candidate = state.candidates[index]
        score = state.mean_scores()[index]
        previous = None if best is None else state.mean_scores()[best]
        if best is not None and self._rank(state, index) <= self._rank(state, best):
            state.stale_iterations += 1
            return
        if not self._guard_fits(state):
            # Promoting it unchecked would defeat the guard; paying for the check would pass the budget.
            budget = self.config.max_metric_calls or 0
            state.guard_unpaid.append(candidate.id)
            state.bump("guard_unpaid")
            state.stale_iterations += 1
            self._emit("guard_unpaid", state, candidate=candidate.id, score=score, calls=self._guard_calls,
                       remaining=budget - state.metric_calls)
            return
        if constant := self._constant_answer(state, candidate, {"validation": self.val}):
            self._flag_constant(state, candidate, constant)
            return
        fell = self._guard(state, candidate)
        if fell:
            state.guard_failed.append(candidate.id)
            state.bump("guard_failed")
            state.stale_iterations += 1
            seed_guard = state.guard_scores[state.candidates[0].id]
            self._emit("guard_failed", state, candidate=candidate.id, score=score, sets=fell,
                       guard=state.guard_scores[candidate.id], seed_guard=seed_guard,
                       tolerance=self.config.guard_tolerance)
            return
        if constant := self._constant_answer(state, candidate, self.guard):
            self._flag_constant(state, candidate, constant)
            return
        state.best_id = candidate.id
        state.stale_iterations = 0
        self._emit("new_best", state, candidate=candidate.id, score=score, previous=previous,
                   objectives=state.objective_means(index), guard=state.guard_scores.get(candidate.id, {}))

    def _constant_answer(self, state: RunState, candidate: Candidate,
                         splits: Mapping[str, Sequence[Example]]) -> ConstantAnswer | None:
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
        state.stale_iterations += 1
        self._emit("constant_answer", state, candidate=candidate.id, **constant.to_dict())

    def _guard_fits(self, state: RunState) -> bool:
        """Whether the budget can still pay a candidate's guard check (always, with no guard sets or no limit)."""
        budget = self.config.max_metric_calls
        return budget is None or state.metric_calls + self._guard_calls <= budget

    def _check_unpaid(self, state: RunState) -> None:
        """On resume with a larger budget, run the guard checks the last budget could not pay (the best-ranked
        first, so a check is not paid for a candidate the next one beats)."""
        if not state.guard_unpaid or not self._guard_fits(state):
            return
        waiting = sorted(state.guard_unpaid, key=lambda cid: self._rank(state, state.index_of(cid)), reverse=True)
        state.guard_unpaid, stale = [], state.stale_iterations
        for candidate_id in waiting:
            self._promote(state, state.index_of(candidate_id), state.best_index())
        if state.best_id not in waiting:
            state.stale_iterations = stale  # no iteration ran: the patience count stays where it was
        self.checkpoint(state)

    def _objective_rows(self, state: RunState, rollouts: list[Rollout]) -> dict[str, list[float]]:
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
            if self.config.objective(name).direction == "max":
                fill = 0.0  # a score nobody measured is 0, as the score of a failed rollout is
            elif measured:
                fill = sum(measured) / len(measured)
            else:
                pool = [v for row in state.val_objectives for v in row.get(name, [])]
                fill = max(pool) if pool else 0.0
            rows[name] = [r.objectives.get(name, fill) for r in rollouts]
        return rows

    def _rank(self, state: RunState, index: int) -> tuple[float, ...]:
        return self.config.rank(state.objective_means(index))

    def _front(self, state: RunState) -> NDArray[np.int64]:
        """Front weights over every (objective, validation example): best somewhere for some objective."""
        return state.front_weights(self.config.front_objectives())

    def _guard(self, state: RunState, candidate: Candidate) -> list[str]:
        """Score ``candidate`` on every guard set; the sets it falls on, more than the tolerance below the seed."""
        if not self.guard:
            return []
        scores = {name: sum(r.score for r in self._evaluate(state, candidate, examples)) / len(examples)
                  for name, examples in self.guard.items()}
        state.guard_scores[candidate.id] = scores
        seed = state.guard_scores[state.candidates[0].id]
        return [name for name, value in scores.items() if value < seed[name] - self.config.guard_tolerance - 1e-12]

    def _evaluate(self, state: RunState, candidate: Candidate, examples: Sequence[Example]) -> list[Rollout]:
        """Rollouts of ``candidate`` on ``examples`` in order; a pair already scored is never paid again."""
        return self._evaluate_many(state, [candidate], examples)[0]

    def _evaluate_many(self, state: RunState, candidates: Sequence[Candidate],
                       examples: Sequence[Example]) -> list[list[Rollout]]:
        """``_evaluate`` for several candidates at once, so all their rollouts share the pool."""
        assert self._rollouts is not None
        todo = [(c, e) for c in candidates for e in examples if e.id not in state.rollouts.get(c.id, {})]
        results = [r for group in self._clock.groups(todo, self.config.concurrency)
                   for r in self._rollouts.map(self.system, self.evaluator, group)]
        if "latency_s" not in self.config.objective_names():  # not repeatable: kept only when asked for
            results = [replace(r, objectives={k: v for k, v in r.objectives.items() if k != "latency_s"})
                       for r in results]
        if results and all(r.error_source == "unreachable" for r in results):
            raise ModelUnreachableError(f"{results[0].error} (every call of the batch failed after its retries; "
                                        "the run stops, and resumes from its saved state)")
        for (candidate, _), result in zip(todo, results, strict=True):
            state.add_rollout(candidate.id, result)
        state.metric_calls += len(todo)
        return [[state.rollouts[c.id][e.id] for e in examples] for c in candidates]

    def _emit(self, kind: EventKind, state: RunState, **data: Any) -> None:
        """Record the event (a failure there stops the run: the record of a paid run may not be lost), then
        show it to the callbacks (a failing display must not stop a paid run)."""
        event = Event(kind=kind, iteration=state.iteration, data=data)
        if self.record is not None:
            self.record(event)
        for callback in self.callbacks:
            try:
                callback(event)
            except Exception:  # noqa: BLE001, S110 - a broken display must not kill a paid run
                pass


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


def _idle_cause(counts: dict[str, int]) -> str:
    """What most often kept iterations from evaluating anything."""
    causes = {"the parent already solved its minibatches": counts.get("skipped", 0),
              "the reflector repeated texts already tried": counts.get("proposal_unchanged", 0)
              + counts.get("proposal_duplicate", 0),
              "proposals broke placeholders": counts.get("proposal_placeholders", 0),
              "every reflection call failed: see proposal_rejected in events.jsonl": counts.get(
                  "proposal_reflection_error", 0)}
    cause, count = max(causes.items(), key=lambda item: item[1])
    return cause if count else "no proposals"


def _rejection(component: str, reason: str, detail: str, text: str) -> dict[str, str]:
    return {"component": component, "reason": reason, "detail": detail, "text": text}


def _changed(parent: Candidate, child: Candidate) -> dict[str, str]:
    return {n: child[n] for n in child.components if child[n] != parent[n]}


def _finite(rank: Sequence[float]) -> list[float | None]:
    """A rank as JSON can hold it: an unmeasured (infinite) part becomes null."""
    return [value if math.isfinite(value) else None for value in rank]
