"""The minibatch test: of the children scored on the parent's minibatch, the one that ranks highest (the first on
ties) goes on to validation when the acceptance rule admits it against the parent; each decision is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gepa.core import events as ev
from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.emitter import Emit
from gepa.core.objectives import finite, mean_objectives
from gepa.core.policies import AcceptanceRule
from gepa.core.state import RunState
from gepa.core.types import Rollout


class MinibatchTest:
    """Decides which child, if any, of one iteration is validated."""

    def __init__(self, config: OptimizerConfig, acceptance: AcceptanceRule, emit: Emit) -> None:
        self.config, self.acceptance, self._emit = config, acceptance, emit

    def winner(
        self,
        state: RunState,
        parent: Candidate,
        parent_rollouts: Sequence[Rollout],
        children: Sequence[Candidate],
        scored: Sequence[Sequence[Rollout]],
    ) -> Candidate | None:
        """The child to validate, or None when the best of them does not pass against the parent."""
        before = sum(r.score for r in parent_rollouts)
        totals = [sum(r.score for r in rollouts) for rollouts in scored]
        ranks = [self.config.rank(mean_objectives(rollouts)) for rollouts in scored]
        best = max(range(len(children)), key=lambda i: (ranks[i], -i))  # the first on ties
        for i, child in enumerate(children):
            if i != best:
                state.bump("outscored")
                self._emit("candidate_rejected", state, _rejection(parent, child, "outscored", before, totals[i]))
        child, after = children[best], totals[best]
        parent_rank = self.config.rank(mean_objectives(parent_rollouts))
        if not self.acceptance.accepts(ranks[best], parent_rank):
            state.bump("rejected")
            rejected = _rejection(parent, child, "not better", before, after)
            if self.config.select:  # under a select rule the rank decided, not the score sums: the event says so
                rejected["select_rank"] = [finite(ranks[best]), finite(parent_rank)]
            self._emit("candidate_rejected", state, rejected)
            return None
        state.bump("accepted")
        self._emit(
            "candidate_accepted",
            state,
            ev.CandidateAcceptedPayload(
                parent=parent.id,
                child=child.id,
                origin=child.origin,
                parent_minibatch=before,
                child_minibatch=after,
                components=_changed(parent, child),
                feedback=[r.feedback for r in parent_rollouts if r.score < self.config.perfect_score],
            ),
        )
        return child


def _rejection(
    parent: Candidate, child: Candidate, reason: Literal["outscored", "not better"], before: float, after: float
) -> ev.MinibatchRejectionPayload:
    return ev.MinibatchRejectionPayload(
        parent=parent.id,
        child=child.id,
        origin=child.origin,
        reason=reason,
        parent_minibatch=before,
        child_minibatch=after,
        components=_changed(parent, child),
    )


def _changed(parent: Candidate, child: Candidate) -> dict[str, str]:
    return {n: child[n] for n in child.components if child[n] != parent[n]}
