"""Small policies the loop consults: parent selection, minibatch sampling, component choice.

Each takes the state and an injected ``random.Random`` and returns a decision; none mutates the
state except the sampler, whose position is part of the state by design.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from gepa.core.config import OptimizerConfig
from gepa.core.pareto import sample_weighted
from gepa.core.state import RunState

Selector = Callable[[RunState, random.Random], int]


def make_select_pareto(config: OptimizerConfig) -> Selector:
    """GEPA's rule: a front member, in proportion to how many (objective, validation example) pairs it wins."""
    objectives = config.front_objectives()

    def select(state: RunState, rng: random.Random) -> int:
        return sample_weighted(state.front_weights(objectives), rng)

    return select


def select_best(state: RunState, rng: random.Random) -> int:
    return state.best_index()


def make_epsilon_greedy(epsilon: float) -> Selector:
    def select(state: RunState, rng: random.Random) -> int:
        if rng.random() < epsilon:
            return rng.randrange(len(state.candidates))
        return state.best_index()

    return select


def make_selector(config: OptimizerConfig) -> Selector:
    if config.selector == "pareto":
        return make_select_pareto(config)
    if config.selector == "best":
        return select_best
    return make_epsilon_greedy(config.epsilon)


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


def components_to_update(state: RunState, candidate_id: str, optimizable: list[str],
                         config: OptimizerConfig) -> list[str]:
    """Round-robin over the optimisable components per candidate, or all of them at once."""
    if config.component_selection == "all":
        return list(optimizable)
    turn = state.next_component.get(candidate_id, 0)
    state.next_component[candidate_id] = turn + 1
    return [optimizable[turn % len(optimizable)]]
