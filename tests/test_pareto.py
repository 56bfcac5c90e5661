"""Pareto maths on hand-made score tables and as properties."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gepa.core.pareto import frontier, frontier_weights, sample_weighted


def test_each_candidate_best_somewhere_is_on_the_front() -> None:
    scores = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    assert frontier(scores) == [0, 1, 2]
    assert frontier_weights(scores).tolist() == [1, 1, 1, 0]


def test_dominated_candidate_is_dropped_even_when_tied_best() -> None:
    scores = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert frontier(scores) == [1]


def test_identical_candidates_keep_the_earliest() -> None:
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert frontier(scores) == [0, 1]
    assert frontier_weights(scores).tolist() == [1, 1, 0]


def test_all_ties_leave_one_member() -> None:
    scores = np.zeros((4, 3))
    assert frontier(scores) == [0]


def test_sampling_follows_weights() -> None:
    scores = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    rng = random.Random(0)
    picks = [sample_weighted(frontier_weights(scores), rng) for _ in range(4000)]
    assert 0.70 < picks.count(0) / len(picks) < 0.80  # weights 3 : 1


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """The oracle: ``a`` scores at least ``b`` everywhere and more somewhere."""
    return bool(np.all(a >= b) and np.any(a > b))


score_tables = arrays(
    np.float64, st.tuples(st.integers(1, 7), st.integers(1, 6)), elements=st.sampled_from([0.0, 0.25, 0.5, 1.0])
)


@settings(max_examples=300, deadline=None)
@given(score_tables)
def test_front_properties(scores: np.ndarray) -> None:
    front = frontier(scores)
    assert front, "the front is never empty"
    for member in front:
        for other in range(scores.shape[0]):
            assert not dominates(scores[other], scores[member]), "no member is dominated"
    best = scores.max(axis=0)
    for example in range(scores.shape[1]):
        winners = np.flatnonzero(scores[:, example] == best[example])
        if len(winners) == 1:
            assert winners[0] in front, "a candidate uniquely best on an example is on the front"
        assert any(w in front for w in winners), "every example keeps a best candidate on the front"
