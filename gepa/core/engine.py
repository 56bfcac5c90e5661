"""The GEPA loop: select a parent from the Pareto front, reflect on a minibatch, accept or reject, merge.

No I/O and no printing: progress leaves as events, persistence through the ``checkpoint`` hook, and every
random choice comes from one ``random.Random`` whose state is saved with the run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gepa.core.candidate import Candidate, placeholders
from gepa.core.config import OptimizerConfig
from gepa.core.evaluation import rollouts
from gepa.core.events import Callback, Event
from gepa.core.merge import MergePlan, plan_merge
from gepa.core.state import RunState
from gepa.core.strategies import components_to_update, make_selector, next_minibatch
from gepa.core.types import Evaluator, Example, Proposer, Rollout, System
from gepa.errors import SystemicModelError, UserError

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


class Optimizer:
    """Runs GEPA over injected parts. ``run`` returns the final ``RunState``; pass a saved one to resume."""

    def __init__(self, *, system: System, evaluator: Evaluator, proposer: Proposer,
                 trainset: Sequence[Example], valset: Sequence[Example], config: OptimizerConfig,
                 callbacks: Sequence[Callback] = (), spent_usd: Callable[[], float] = lambda: 0.0,
                 should_stop: Callable[[], bool] = lambda: False,
                 checkpoint: Callable[[RunState], None] = lambda state: None) -> None:
        if not trainset or not valset:
            raise UserError("the train and validation sets must each hold at least one example")
        self.system, self.evaluator, self.proposer = system, evaluator, proposer
        self.train, self.val, self.config = list(trainset), list(valset), config
        self.callbacks, self.spent_usd = list(callbacks), spent_usd
        self.should_stop, self.checkpoint = should_stop, checkpoint
        self.select_parent = make_selector(config)
        self._pool: ThreadPoolExecutor | None = None

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, seed: Candidate, state: RunState | None = None) -> RunState:
        state = state if state is not None else RunState()
        rng = random.Random(self.config.seed)
        if state.rng_state is not None:
            rng.setstate(state.rng_state)
        started = time.monotonic()
        optimizable = self._optimizable(seed)
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as self._pool:
            if not state.candidates:
                self._start(state, seed)
                state.rng_state = rng.getstate()
                self.checkpoint(state)
            while not state.finished:
                reason = self._stop_reason(state, started)
                if reason:
                    # A requested stop leaves the run resumable; a spent budget or a limit ends it.
                    state.finished, state.stop_reason = reason != STOP_REQUESTED, reason
                    break
                state.iteration += 1
                spent_before = state.metric_calls
                self._iterate(state, rng, optimizable)
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
        limit = self.config.max_metric_calls
        if limit is not None and limit < len(self.val):
            raise UserError(f"budget of {limit} metric calls cannot even score the seed on the "
                            f"{len(self.val)} validation examples; raise max_metric_calls")
        self._emit("run_started", state, seed=seed.id, train=len(self.train), val=len(self.val))
        self._add(state, seed, self._evaluate(state, seed, self.val))

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
            return f"nothing new to evaluate in {c.max_idle_iterations} iterations (perfect minibatches or repeated proposals)"
        if c.patience is not None and state.stale_iterations >= c.patience:
            return f"no improvement in {c.patience} iterations"
        if c.max_metric_calls is not None:
            worst_case = max(2 * min(c.minibatch_size, len(self.train)), c.merge_subsample) + len(self.val)
            if state.metric_calls + worst_case > c.max_metric_calls:
                return f"max_metric_calls ({c.max_metric_calls}) reached: the next step could exceed it"
        return ""

    def _iterate(self, state: RunState, rng: random.Random, optimizable: list[str]) -> None:
        if self.config.merge and state.merges_due > 0:
            state.merges_due -= 1
            plan = plan_merge(state, rng)
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
        child = self._propose(state, parent, optimizable, list(zip(batch, parent_rollouts, strict=True)))
        if child is None:
            state.stale_iterations += 1
            return
        child_rollouts = self._evaluate(state, child, batch)
        before, after = sum(r.score for r in parent_rollouts), sum(r.score for r in child_rollouts)
        better = after > before if self.config.acceptance == "strict" else after >= before
        if not better:
            state.bump("rejected")
            state.stale_iterations += 1
            self._emit("candidate_rejected", state, parent=parent.id, child=child.id, origin=child.origin,
                       parent_minibatch=before, child_minibatch=after,
                       components={n: child[n] for n in child.components if child[n] != parent[n]})
            return
        state.bump("accepted")
        self._emit("candidate_accepted", state, parent=parent.id, child=child.id, origin=child.origin,
                   parent_minibatch=before, child_minibatch=after,
                   components={n: child[n] for n in child.components if child[n] != parent[n]},
                   feedback=[r.feedback for r in parent_rollouts if r.score < self.config.perfect_score])
        self._add(state, child, self._evaluate(state, child, self.val))
        if self.config.merge and state.merges_done + state.merges_due < self.config.max_merges:
            state.merges_due += 1

    def _propose(self, state: RunState, parent: Candidate, optimizable: list[str],
                 evidence: list[tuple[Example, Rollout]]) -> Candidate | None:
        names = components_to_update(state, parent.id, optimizable, self.config)
        components = dict(parent.components)
        for name in names:
            try:
                text = self.proposer.propose(parent, name, evidence)
            except SystemicModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed reflection is one lost iteration
                return self._reject(state, parent, name, "reflection_error", f"{type(exc).__name__}: {exc}", "")
            problem = placeholder_problem(parent[name], text)
            if problem:
                return self._reject(state, parent, name, "placeholders", problem, text)
            if text.strip() == parent[name].strip():
                return self._reject(state, parent, name, "unchanged", "the reflector returned the same text", text)
            components[name] = text
        child = Candidate(components=components, parents=(parent.id,), origin="mutation:" + "+".join(names))
        if any(c.id == child.id for c in state.candidates):
            return self._reject(state, parent, names[0], "duplicate", f"already in the pool as {child.id}", "")
        state.bump("proposals")
        return child

    def _reject(self, state: RunState, parent: Candidate, component: str, reason: str, detail: str,
                text: str) -> None:
        state.bump(f"proposal_{reason}")
        self._emit("proposal_rejected", state, parent=parent.id, component=component, reason=reason,
                   detail=detail, text=text)
        return None

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

    # -- bookkeeping ------------------------------------------------------------------------------
    def _add(self, state: RunState, candidate: Candidate, val_rollouts: list[Rollout]) -> None:
        previous_best = max(state.mean_scores(), default=None)
        state.candidates.append(candidate)
        state.val_scores.append([r.score for r in val_rollouts])
        state.found_at.append({"iteration": state.iteration, "metric_calls": state.metric_calls,
                               "cost_usd": self.spent_usd()})
        score = state.mean_scores()[-1]
        if previous_best is None or score > previous_best:
            state.stale_iterations = 0
            self._emit("new_best", state, candidate=candidate.id, score=score, previous=previous_best)
        else:
            state.stale_iterations += 1

    def _evaluate(self, state: RunState, candidate: Candidate, examples: Sequence[Example]) -> list[Rollout]:
        """Rollouts of ``candidate`` on ``examples`` in order; a pair already scored is never paid again."""
        known = state.rollouts.setdefault(candidate.id, {})
        todo = [e for e in examples if e.id not in known]
        if todo:
            assert self._pool is not None
            results = rollouts(self._pool, self.system, self.evaluator, candidate, todo)
            for example, result in zip(todo, results, strict=True):
                known[example.id] = result
            state.metric_calls += len(todo)
        return [known[e.id] for e in examples]

    def _emit(self, kind: str, state: RunState, **data: Any) -> None:
        event = Event(kind=kind, iteration=state.iteration, data=data)
        for callback in self.callbacks:
            try:
                callback(event)
            except Exception:  # noqa: BLE001, S110 - a broken display must not kill a paid run
                pass
