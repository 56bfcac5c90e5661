"""GEPA's system-aware merge: combine two frontier candidates that share an ancestor.

For each component, take the version that changed from the common ancestor; when both changed, take the
one from the candidate with the higher validation mean.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gepa.core.candidate import Candidate
from gepa.core.state import RunState


@dataclass(frozen=True, kw_only=True)
class MergePlan:
    first: int
    second: int
    ancestor: int
    child: Candidate


def ancestors(state: RunState, index: int) -> set[int]:
    """Every index reachable through parent links (the candidate itself excluded)."""
    by_id = {c.id: i for i, c in enumerate(state.candidates)}
    found: set[int] = set()
    stack = [by_id[p] for p in state.candidates[index].parents if p in by_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(by_id[p] for p in state.candidates[current].parents if p in by_id)
    return found


def plan_merge(state: RunState, rng: random.Random, members: list[int]) -> MergePlan | None:
    """Pick an untried pair of front ``members`` with a common ancestor whose merge differs from both."""
    means = state.mean_scores()
    tried = {tuple(a) for a in state.merge_attempts}
    known = {c.id for c in state.candidates}
    options: list[MergePlan] = []
    for i in members:
        for j in members:
            if i >= j:
                continue
            anc_i, anc_j = ancestors(state, i), ancestors(state, j)
            if i in anc_j or j in anc_i:
                continue
            common = anc_i & anc_j
            if not common:
                continue
            ancestor = max(common, key=lambda a: (means[a], -a))
            child = _combine(state, i, j, ancestor, means)
            key = tuple(sorted((state.candidates[i].id, state.candidates[j].id)))
            if child is None or child.id in known or key in tried:
                continue
            options.append(MergePlan(first=i, second=j, ancestor=ancestor, child=child))
    return rng.choice(options) if options else None


def _combine(state: RunState, i: int, j: int, ancestor: int, means: list[float]) -> Candidate | None:
    a, b, base = state.candidates[i], state.candidates[j], state.candidates[ancestor]
    merged: dict[str, str] = {}
    for name, base_text in base.components.items():
        changed_a, changed_b = a[name] != base_text, b[name] != base_text
        if changed_a and changed_b:
            merged[name] = a[name] if means[i] >= means[j] else b[name]
        elif changed_a:
            merged[name] = a[name]
        else:
            merged[name] = b[name]
    if merged == dict(a.components) or merged == dict(b.components):
        return None
    return Candidate(components=merged, parents=(a.id, b.id), origin="merge")
