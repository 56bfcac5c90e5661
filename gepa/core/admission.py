"""Proposal admission: ask the reflector for a new component text until one is usable, repair what one repair
request can fix, and record why each unusable text was turned away.

A slot runs on a proposal thread, so it never touches the run state: what it did comes back as a
``ProposalOutcome``, and ``Admission.children`` applies the outcomes to the state in slot order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gepa.core.candidate import Candidate, placeholders
from gepa.core.emitter import Emit
from gepa.core.events import ProposalRejectedPayload, ProposalRepairedPayload
from gepa.core.leakage import LeakageCheck
from gepa.core.state import Counter, RunState
from gepa.core.types import Example, Proposer, Repairs, Rollout
from gepa.errors import SystemicModelError, redact_secrets

Evidence = Sequence[tuple[Example, Rollout]]
# How the slots run concurrently: ``ThreadPoolExecutor.map``, or the builtin ``map`` to run them in turn.
MapSlots = Callable[[Callable[[int], "ProposalOutcome"], Iterable[int]], Iterator["ProposalOutcome"]]
RejectionReason = Literal["reflection_error", "placeholders", "unchanged", "duplicate", "leakage"]


@dataclass(frozen=True)
class ReasonWords:
    """How readers name a rejection reason: ``short`` in a count ("8 broke a placeholder"), ``meaning`` for
    someone who does not know the engine's words (the report)."""

    short: str
    meaning: str


# Every RejectionReason, in the order the diagnosis lists them; the one place their words live.
REJECTION_WORDS: dict[RejectionReason, ReasonWords] = {
    "unchanged": ReasonWords("unchanged", "the reflector gave back the text it was shown"),
    "placeholders": ReasonWords("broke a placeholder", "broke the template's placeholders"),
    "duplicate": ReasonWords("repeated a candidate", "the text of a candidate already tried"),
    "leakage": ReasonWords("copied a training example", "copied a training example into the prompt"),
    "reflection_error": ReasonWords("failed", "the reflection call failed"),
}


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


@dataclass(frozen=True)
class Rejection:
    """Why a proposed text was turned away; ``text`` is what the reflector wrote ("" when there is none)."""

    component: str
    reason: RejectionReason
    detail: str
    text: str = ""

    @property
    def counter(self) -> Counter:
        """The run counter of rejections for this reason."""
        return COUNTERS[self.reason]


COUNTERS: dict[RejectionReason, Counter] = {
    "reflection_error": "proposal_reflection_error",
    "placeholders": "proposal_placeholders",
    "unchanged": "proposal_unchanged",
    "duplicate": "proposal_duplicate",
    "leakage": "proposal_leakage",
}


@dataclass
class ProposalOutcome:
    """What one proposal slot did: its child (or None), the reflection calls it made, its repairs and rejections."""

    child: Candidate | None = None
    calls: int = 0
    asked: int = 0
    repairs: list[str] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


class Admission:
    """Turns reflector replies into usable component texts within ``attempts`` reflection calls per component."""

    def __init__(self, proposer: Proposer, leakage: LeakageCheck, attempts: int, emit: Emit) -> None:
        self.proposer, self.leakage, self.attempts, self._emit = proposer, leakage, attempts, emit

    def children(
        self,
        state: RunState,
        parent: Candidate,
        names: Sequence[str],
        evidence: Evidence,
        slots: int,
        rng: random.Random,
        map_slots: MapSlots = map,
    ) -> list[Candidate]:
        """Up to ``slots`` new, distinct, well-formed children of ``parent`` (new texts for ``names``).

        Each slot draws its sample number from ``rng`` before any slot starts, so the same seed gives the
        same proposals whatever order the threads finish in; the counters and events follow slot order.
        """
        samples = [rng.getrandbits(31) for _ in range(slots)]
        known = frozenset(c.id for c in state.candidates)
        outcomes = list(map_slots(lambda sample: self.slot(parent, names, evidence, sample, known), samples))
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

    def slot(
        self, parent: Candidate, names: Sequence[str], evidence: Evidence, sample: int, known: frozenset[str]
    ) -> ProposalOutcome:
        """One slot: a new text for each component in ``names``; a child already in the pool is a duplicate."""
        outcome = ProposalOutcome()
        components = dict(parent.components)
        for name in names:
            text = self._new_text(parent, name, evidence, sample, known if len(names) == 1 else frozenset(), outcome)
            if text is None:
                return outcome
            components[name] = text
        child = Candidate(components=components, parents=(parent.id,), origin="mutation:" + "+".join(names))
        if child.id in known:
            outcome.rejections.append(Rejection(names[0], "duplicate", f"already in the pool as {child.id}"))
            return outcome
        outcome.child = child
        return outcome

    def _new_text(
        self,
        parent: Candidate,
        name: str,
        evidence: Evidence,
        sample: int,
        known: frozenset[str],
        outcome: ProposalOutcome,
    ) -> str | None:
        """Ask until a usable text comes back: sentences that copy a training input are cut out; a repeat of
        the current text, a placeholder break or a copy that cannot be cut gets one repair request that quotes it;
        a text still unusable, or a duplicate of a candidate already tried, is asked again with the examples
        rotated and another sample. None when the attempts run out."""
        calls, attempt, evidence = 0, 0, list(evidence)
        while calls < self.attempts:
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
                if problem and calls < self.attempts and isinstance(self.proposer, Repairs):
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
                outcome.rejections.append(
                    Rejection(name, "reflection_error", redact_secrets(f"{type(exc).__name__}: {exc}"))
                )
                continue
            if rejection := self._rejection(parent, name, text, problem, known):
                outcome.rejections.append(rejection)
            else:
                return text
        return None

    def _rejection(
        self, parent: Candidate, name: str, text: str, problem: str | None, known: frozenset[str]
    ) -> Rejection | None:
        """Why ``text`` (after any repair) may not replace the current text of ``name``; None when it may."""
        if problem:
            return Rejection(name, "placeholders", problem, text)
        if text.strip() == parent[name].strip():
            return Rejection(name, "unchanged", "the reflector returned the same text", text)
        if Candidate(components={**parent.components, name: text}).id in known:
            return Rejection(name, "duplicate", "already in the pool", text)
        if leak := self.leakage.copied(text, parent[name]):
            return Rejection(name, "leakage", f"copies a training example: '{leak}'", text)
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
            return (
                f"copies a training example word for word ('{leak}'); describe the task in general terms "
                f"instead of quoting an input"
            )
        if text.strip() == current.strip():
            return "repeats the current text unchanged; write a different text that fixes the failures shown above"
        return None
