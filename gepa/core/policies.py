"""The loop's small policies: which parent, which components, whether a child is accepted, how it is validated.

Each is a class behind a Protocol, so a pipeline can pass its own object from Python (``Policies(selector=...)``)
and a task file chooses one by name (``Policies.named(config)``). A policy takes the state and an injected
``random.Random`` and returns a decision; only the component chooser writes to the state (its turn per candidate
is part of the run by design), and the minibatch sampler below, whose position is too.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gepa.core.config import Objective, OptimizerConfig
from gepa.core.pareto import sample_weighted
from gepa.core.state import RunState

Rank = tuple[float, ...]


class ParentSelector(Protocol):
    """Picks the pool member the next proposal improves."""

    def select(self, state: RunState, rng: random.Random) -> int: ...


class ComponentChooser(Protocol):
    """Names the components the next proposal rewrites."""

    def choose(self, state: RunState, candidate_id: str, optimizable: Sequence[str]) -> list[str]: ...

    def per_proposal(self, optimizable: Sequence[str]) -> int:
        """The most components one proposal rewrites (the reflection budget's worst case)."""
        ...


class AcceptanceRule(Protocol):
    """Whether a child that ranks ``child`` on the minibatch goes on to validation against a parent at ``parent``."""

    def accepts(self, child: Rank, parent: Rank) -> bool: ...


class ValidationPolicy(Protocol):
    """The validation examples an accepted child is scored on first; None scores it on the whole set at once."""

    def first_sample(self, val_size: int, rng: random.Random) -> list[int] | None: ...


@dataclass(frozen=True)
class ParetoSelector:
    """GEPA's rule: a front member, in proportion to how many (objective, validation example) pairs it wins."""

    objectives: tuple[Objective, ...]

    def select(self, state: RunState, rng: random.Random) -> int:
        return sample_weighted(state.front_weights(self.objectives), rng)


class BestSelector:
    """Always the best: a greedy hill climb."""

    def select(self, state: RunState, rng: random.Random) -> int:
        return state.best_index()


@dataclass(frozen=True)
class EpsilonGreedySelector:
    """The best, or with probability ``epsilon`` any member."""

    epsilon: float

    def select(self, state: RunState, rng: random.Random) -> int:
        if rng.random() < self.epsilon:
            return rng.randrange(len(state.candidates))
        return state.best_index()


class RoundRobin:
    """One component per proposal, each candidate taking its components in turn."""

    def choose(self, state: RunState, candidate_id: str, optimizable: Sequence[str]) -> list[str]:
        turn = state.next_component.get(candidate_id, 0)
        state.next_component[candidate_id] = turn + 1
        return [optimizable[turn % len(optimizable)]]

    def per_proposal(self, optimizable: Sequence[str]) -> int:
        return 1


class AllComponents:
    """Every optimisable component in each proposal."""

    def choose(self, state: RunState, candidate_id: str, optimizable: Sequence[str]) -> list[str]:
        return list(optimizable)

    def per_proposal(self, optimizable: Sequence[str]) -> int:
        return len(optimizable)


class StrictlyBetter:
    """GEPA's rule: the child must beat its parent on the minibatch."""

    def accepts(self, child: Rank, parent: Rank) -> bool:
        return child > parent


class AtLeastAsGood:
    """A tie with the parent is enough (more validation cost, more drift)."""

    def accepts(self, child: Rank, parent: Rank) -> bool:
        return child >= parent


class FullValidation:
    """Every accepted child is scored on the whole validation set."""

    def first_sample(self, val_size: int, rng: random.Random) -> list[int] | None:
        return None


@dataclass(frozen=True)
class SubsetValidation:
    """A child is first scored on ``size`` random validation examples; the rest only if it could matter."""

    size: int

    def first_sample(self, val_size: int, rng: random.Random) -> list[int] | None:
        if self.size >= val_size:
            return None
        return sorted(rng.sample(range(val_size), self.size))


@dataclass(frozen=True)
class Policies:
    """The four policies of one run."""

    selector: ParentSelector
    components: ComponentChooser
    acceptance: AcceptanceRule
    validation: ValidationPolicy

    @classmethod
    def named(
        cls,
        config: OptimizerConfig,
        *,
        selector: ParentSelector | None = None,
        components: ComponentChooser | None = None,
        acceptance: AcceptanceRule | None = None,
        validation: ValidationPolicy | None = None,
    ) -> Policies:
        """The policies a task file's settings name (``selector``, ``component_selection``, ``acceptance``,
        ``validation``), with any of them replaced by the object given."""
        selectors: dict[str, ParentSelector] = {
            "pareto": ParetoSelector(config.front_objectives()),
            "best": BestSelector(),
            "epsilon_greedy": EpsilonGreedySelector(config.epsilon),
        }
        subset = config.validation == "subset"
        return cls(
            selector=selector or selectors[config.selector],
            components=components or (AllComponents() if config.component_selection == "all" else RoundRobin()),
            acceptance=acceptance or (StrictlyBetter() if config.acceptance == "strict" else AtLeastAsGood()),
            validation=validation or (SubsetValidation(config.validation_subset) if subset else FullValidation()),
        )


def next_minibatch(state: RunState, n_train: int, size: int, rng: random.Random) -> list[int]:
    """The next ``size`` train indices from a seeded, epoch-shuffled order (a new shuffle per epoch)."""
    size = min(size, n_train)
    batch: list[int] = []
    while len(batch) < size:
        if state.sampler_position >= len(state.sampler_order):
            order = list(range(n_train))
            rng.shuffle(order)
            state.sampler_order, state.sampler_position = order, 0
        index = state.sampler_order[state.sampler_position]
        state.sampler_position += 1
        if index not in batch:
            batch.append(index)
    return batch
