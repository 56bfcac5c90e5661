"""Events the engine emits at every step, so a CLI, a run log or a user callback can follow it.

Kinds: ``run_started``, ``iteration_started``, ``minibatch_skipped``, ``proposal_rejected`` (placeholders,
unchanged, reflection_error, duplicate), ``candidate_rejected`` (did not beat its parent), ``candidate_accepted``,
``merge_accepted``, ``merge_rejected``, ``new_best``, ``budget``, ``run_finished``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

EVENT_KINDS = (
    "run_started", "iteration_started", "minibatch_skipped", "proposal_rejected", "candidate_rejected",
    "candidate_accepted", "merge_accepted", "merge_rejected", "new_best", "budget", "run_finished",
)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in iteration ``iteration``; ``data`` is plain JSON."""

    kind: str
    iteration: int
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "iteration": self.iteration, **self.data}


Callback = Callable[[Event], None]
